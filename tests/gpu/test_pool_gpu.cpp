// Max and average pooling on CUDA against the CPU reference: values, argmax and both backward passes.
#include "kernels/pool.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

std::vector<int32_t> download_ints(Context& ctx, const Tensor& t, size_t n) {
  std::vector<int32_t> h(n);
  copy_to_host(ctx, h.data(), t.raw(), n * sizeof(int32_t));
  return h;
}

// Same float operations in the same order on both sides (shared per-index bodies, no multiply-adds to fuse),
// so results should agree exactly; 1e-6 leaves room for nothing but rounding.
constexpr double kTol = 1e-6;

TEST(PoolGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const PoolGeom geoms[] = {{64, 28, 28, 2, 2}, {6, 7, 5, 2, 2}, {6, 9, 11, 3, 2}, {4, 6, 5, 3, 1}, {4, 8, 7, 2, 3}};
  uint32_t seed = 1;
  for (const PoolGeom& g : geoms) {
    const size_t n_in = size_t(g.BC) * g.H * g.W, n_out = size_t(g.BC) * g.Ho() * g.Wo();
    const auto x = test::random_vec(n_in, ++seed), dy = test::random_vec(n_out, ++seed);
    std::vector<float> y(n_out), dx(n_in), ya(n_out), dxa(n_in);
    std::vector<int32_t> am(n_out);
    maxpool2d_forward(cpu, g, x.data(), y.data(), am.data());
    maxpool2d_backward(cpu, g, dy.data(), am.data(), dx.data());
    avgpool2d_forward(cpu, g, x.data(), ya.data());
    avgpool2d_backward(cpu, g, dy.data(), dxa.data());

    Tensor gx = test::upload(gpu, x), gdy = test::upload(gpu, dy);
    Tensor gy = Tensor::empty(gpu, {int64_t(n_out)}), gam = Tensor::empty(gpu, {int64_t(n_out)}, DType::I32);
    Tensor gdx = Tensor::empty(gpu, {int64_t(n_in)}), gya = Tensor::empty(gpu, {int64_t(n_out)});
    Tensor gdxa = Tensor::empty(gpu, {int64_t(n_in)});
    maxpool2d_forward(gpu, g, gx.f32(), gy.f32(), gam.as<int32_t>());
    maxpool2d_backward(gpu, g, gdy.f32(), gam.as<int32_t>(), gdx.f32());
    avgpool2d_forward(gpu, g, gx.f32(), gya.f32());
    avgpool2d_backward(gpu, g, gdy.f32(), gdxa.f32());
    EXPECT_EQ(test::download(gpu, gy), y);
    EXPECT_EQ(download_ints(gpu, gam, n_out), am);
    EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), kTol);
    EXPECT_LT(test::rel_error(test::download(gpu, gya), ya), kTol);
    EXPECT_LT(test::rel_error(test::download(gpu, gdxa), dxa), kTol);
  }
}

}  // namespace
}  // namespace dg
