// Batch normalisation on CUDA against the CPU reference: both forward and both backward passes, conv and
// vector shapes, overwrite and accumulate, and bitwise repeatability of the per-channel reductions.
#include "kernels/batchnorm.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(BatchNormGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  struct S { int B, C, HW; };
  for (S s : {S{8, 16, 49}, S{128, 40, 1}, S{3, 4, 1000}, S{64, 3, 196}, S{2, 1, 1}}) {
    const std::string what = std::to_string(s.B) + "x" + std::to_string(s.C) + "x" + std::to_string(s.HW);
    const size_t n = size_t(s.B) * s.C * s.HW, C = size_t(s.C);
    const auto x = test::random_vec(n, 1, -1.0f, 5.0f), dy = test::random_vec(n, 2);
    const auto gamma = test::random_vec(C, 3, 0.5f, 1.5f), beta = test::random_vec(C, 4);
    const auto rm0 = test::random_vec(C, 5), rv0 = test::random_vec(C, 6, 0.5f, 2.0f), g0 = test::random_vec(C, 7);
    const float eps = 1e-5f, momentum = 0.1f;

    // CPU reference.
    std::vector<float> y(n), mean(C), inv_std(C), rm = rm0, rv = rv0, yi(n);
    std::vector<float> dx(n), dgamma = g0, dbeta = g0, dxi(n), dgi = g0, dbi = g0;
    batchnorm_forward_train(cpu, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), inv_std.data(), rm.data(),
                            rv.data(), s.B, s.C, s.HW, eps, momentum);
    batchnorm_forward_infer(cpu, x.data(), gamma.data(), beta.data(), rm0.data(), rv0.data(), yi.data(), s.B, s.C,
                            s.HW, eps);
    batchnorm_backward_train(cpu, x.data(), dy.data(), gamma.data(), mean.data(), inv_std.data(), dx.data(),
                             dgamma.data(), dbeta.data(), s.B, s.C, s.HW, Grad::Accumulate);
    batchnorm_backward_infer(cpu, x.data(), dy.data(), gamma.data(), rm0.data(), rv0.data(), dxi.data(), dgi.data(),
                             dbi.data(), s.B, s.C, s.HW, eps, Grad::Overwrite);

    // The same on the GPU; the backward passes get the CPU's saved statistics so each op is compared alone.
    Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy), gg = test::upload(gpu, gamma);
    Tensor gb = test::upload(gpu, beta), grm = test::upload(gpu, rm0), grv = test::upload(gpu, rv0);
    Tensor grm0 = test::upload(gpu, rm0), grv0 = test::upload(gpu, rv0);
    Tensor gy = Tensor::empty(gpu, {int64_t(n)}), gyi = Tensor::empty(gpu, {int64_t(n)});
    Tensor gmean = Tensor::empty(gpu, {int64_t(C)}), gis = Tensor::empty(gpu, {int64_t(C)});
    batchnorm_forward_train(gpu, gx.f32(), gg.f32(), gb.f32(), gy.f32(), gmean.f32(), gis.f32(), grm.f32(), grv.f32(),
                            s.B, s.C, s.HW, eps, momentum);
    batchnorm_forward_infer(gpu, gx.f32(), gg.f32(), gb.f32(), grm0.f32(), grv0.f32(), gyi.f32(), s.B, s.C, s.HW, eps);
    Tensor cmean = test::upload(gpu, mean), cis = test::upload(gpu, inv_std);
    Tensor gdx = Tensor::empty(gpu, {int64_t(n)}), gdg = test::upload(gpu, g0), gdb = test::upload(gpu, g0);
    Tensor gdxi = Tensor::empty(gpu, {int64_t(n)}), gdgi = test::upload(gpu, g0), gdbi = test::upload(gpu, g0);
    batchnorm_backward_train(gpu, gx.f32(), gdy.f32(), gg.f32(), cmean.f32(), cis.f32(), gdx.f32(), gdg.f32(),
                             gdb.f32(), s.B, s.C, s.HW, Grad::Accumulate);
    batchnorm_backward_infer(gpu, gx.f32(), gdy.f32(), gg.f32(), grm0.f32(), grv0.f32(), gdxi.f32(), gdgi.f32(),
                             gdbi.f32(), s.B, s.C, s.HW, eps, Grad::Overwrite);

    // Float block sums of up to 8192 terms against the CPU's double sums: relative 1e-5 for statistics and
    // outputs. The training dx subtracts two channel means from dy, so its error is absolute in |dy| (~1):
    // 1e-4 of the largest entry.
    EXPECT_LT(test::rel_error(test::download(gpu, gmean), mean), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gis), inv_std), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, grm), rm), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, grv), rv), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gyi), yi), 1e-6) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), 1e-4) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdg), dgamma), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdb), dbeta), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdxi), dxi), 1e-6) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdgi), dgi), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdbi), dbi), 1e-5) << what;

    // Fixed-order reductions: a second run gives the same bits.
    Tensor gy2 = Tensor::empty(gpu, {int64_t(n)}), gm2 = Tensor::empty(gpu, {int64_t(C)});
    Tensor gis2 = Tensor::empty(gpu, {int64_t(C)}), gdg2 = test::upload(gpu, g0), gdx2 = Tensor::empty(gpu, {int64_t(n)});
    batchnorm_forward_train(gpu, gx.f32(), gg.f32(), gb.f32(), gy2.f32(), gm2.f32(), gis2.f32(), nullptr, nullptr, s.B,
                            s.C, s.HW, eps, momentum);
    batchnorm_backward_train(gpu, gx.f32(), gdy.f32(), gg.f32(), cmean.f32(), cis.f32(), gdx2.f32(), gdg2.f32(),
                             nullptr, s.B, s.C, s.HW, Grad::Accumulate);
    EXPECT_EQ(test::download(gpu, gy2), test::download(gpu, gy)) << what;
    EXPECT_EQ(test::download(gpu, gm2), test::download(gpu, gmean)) << what;
    EXPECT_EQ(test::download(gpu, gdx2), test::download(gpu, gdx)) << what;
    EXPECT_EQ(test::download(gpu, gdg2), test::download(gpu, gdg)) << what;
  }
}

}  // namespace
}  // namespace dg
