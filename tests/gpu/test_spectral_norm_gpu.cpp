// Spectral normalisation on CUDA against the CPU reference: the power iteration (u, v, sigma, W_sn) for one
// and several iterations and for evaluation, the backward (overwrite and accumulate), and repeatability.
#include "kernels/spectral_norm.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(SpectralNormGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  struct S { int rows, cols; };
  for (S s : {S{64, 800}, S{7, 5}, S{256, 2304}, S{1, 300}}) {
    for (int n_iter : {0, 1, 5}) {
      const std::string what =
          std::to_string(s.rows) + "x" + std::to_string(s.cols) + " n_iter " + std::to_string(n_iter);
      const size_t n = size_t(s.rows) * s.cols;
      const auto W = test::random_vec(n, 1), dW_sn = test::random_vec(n, 2), dW0 = test::random_vec(n, 3);
      // Vectors after one CPU iteration, as they are during training: from the raw random ones, u^T W v is a sum
      // that cancels to a small sigma, which would make n_iter = 0 compare rounding noise.
      const SpectralNormState st = spectral_norm_init(cpu, s.rows, s.cols, 11, 0);
      std::vector<float> u = st.u.to_host(cpu), v = st.v.to_host(cpu), W_sn(n), dW = dW0;
      float sigma = 0;
      spectral_norm_forward(cpu, W.data(), u.data(), v.data(), W_sn.data(), &sigma, s.rows, s.cols, 1);
      const std::vector<float> u0 = u, v0 = v;
      spectral_norm_forward(cpu, W.data(), u.data(), v.data(), W_sn.data(), &sigma, s.rows, s.cols, n_iter);
      spectral_norm_backward(cpu, dW_sn.data(), W_sn.data(), u.data(), v.data(), &sigma, dW.data(), s.rows, s.cols,
                             Grad::Accumulate);

      Tensor gW = test::upload(gpu, W), gu = test::upload(gpu, u0), gv = test::upload(gpu, v0);
      Tensor gWsn = Tensor::empty(gpu, {int64_t(n)}), gsigma = Tensor::empty(gpu, {1});
      spectral_norm_forward(gpu, gW.f32(), gu.f32(), gv.f32(), gWsn.f32(), gsigma.f32(), s.rows, s.cols, n_iter);
      // The backward gets the CPU's forward results, so it is compared alone.
      Tensor cu = test::upload(gpu, u), cv = test::upload(gpu, v), cWsn = test::upload(gpu, W_sn);
      Tensor csigma = test::upload(gpu, {sigma}), gdWsn = test::upload(gpu, dW_sn), gdW = test::upload(gpu, dW0);
      spectral_norm_backward(gpu, gdWsn.f32(), cWsn.f32(), cu.f32(), cv.f32(), csigma.f32(), gdW.f32(), s.rows,
                             s.cols, Grad::Accumulate);

      // cuBLAS (pedantic FP32) against OpenBLAS and float block sums against double: a few ulp per product, grown
      // a little by each normalisation: 1e-5 relative. The gradient subtracts s * u v^T from dW_sn: 1e-5 of its
      // largest entry.
      EXPECT_LT(test::rel_error(test::download(gpu, gu), u), 1e-5) << what;
      EXPECT_LT(test::rel_error(test::download(gpu, gv), v), 1e-5) << what;
      EXPECT_LT(test::rel_error(test::download(gpu, gsigma), {sigma}), 1e-5) << what;
      EXPECT_LT(test::rel_error(test::download(gpu, gWsn), W_sn), 1e-5) << what;
      EXPECT_LT(test::rel_error(test::download(gpu, gdW), dW), 1e-5) << what;

      Tensor gu2 = test::upload(gpu, u0), gv2 = test::upload(gpu, v0), gWsn2 = Tensor::empty(gpu, {int64_t(n)});
      Tensor gsigma2 = Tensor::empty(gpu, {1}), gdW2 = test::upload(gpu, dW0);
      spectral_norm_forward(gpu, gW.f32(), gu2.f32(), gv2.f32(), gWsn2.f32(), gsigma2.f32(), s.rows, s.cols, n_iter);
      spectral_norm_backward(gpu, gdWsn.f32(), cWsn.f32(), cu.f32(), cv.f32(), csigma.f32(), gdW2.f32(), s.rows,
                             s.cols, Grad::Accumulate);
      EXPECT_EQ(test::download(gpu, gsigma2), test::download(gpu, gsigma)) << what;
      EXPECT_EQ(test::download(gpu, gu2), test::download(gpu, gu)) << what;
      EXPECT_EQ(test::download(gpu, gdW2), test::download(gpu, gdW)) << what;
    }
  }
}

}  // namespace
}  // namespace dg
