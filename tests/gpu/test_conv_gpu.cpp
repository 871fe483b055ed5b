// cuDNN convolutions against the CPU reference: forward, both backward passes (overwrite and accumulate) and the
// transposed passes, over several geometries including a realistic layer.
#include "kernels/conv.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

// FP32 on both sides with different summation orders: relative errors sit near 1e-6; 1e-4 flags real bugs.
constexpr double kTol = 1e-4;

TEST(ConvGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  const ConvGeom geoms[] = {
      {2, 3, 7, 9, 4, 3, 1, 1}, {2, 2, 8, 5, 3, 3, 2, 0}, {1, 3, 6, 7, 2, 1, 1, 0},   {2, 2, 9, 6, 3, 4, 2, 1},
      {1, 2, 7, 8, 2, 5, 1, 2}, {2, 3, 10, 7, 2, 5, 2, 2}, {4, 5, 14, 14, 3, 4, 2, 1}, {8, 32, 14, 14, 64, 3, 1, 1},
  };
  uint32_t seed = 1;
  for (const ConvGeom& g : geoms) {
    const size_t nx = size_t(g.B) * g.Cin * g.H * g.W, ny = size_t(g.B) * g.Cout * g.Ho() * g.Wo(),
                 nw = size_t(g.Cout) * g.Cin * g.K * g.K;
    const auto x = test::random_vec(nx, ++seed), w = test::random_vec(nw, ++seed), dy = test::random_vec(ny, ++seed);
    const auto dw0 = test::random_vec(nw, ++seed);
    const std::string what = "B" + std::to_string(g.B) + " Cin" + std::to_string(g.Cin) + " H" + std::to_string(g.H) +
                             " K" + std::to_string(g.K) + " s" + std::to_string(g.stride);

    std::vector<float> y(ny), dx(nx), dw(nw), dw_acc = dw0;
    conv2d_forward(cpu, g, x.data(), w.data(), y.data());
    conv2d_backward_data(cpu, g, dy.data(), w.data(), dx.data());
    conv2d_backward_filter(cpu, g, x.data(), dy.data(), dw.data(), Grad::Overwrite);
    conv2d_backward_filter(cpu, g, x.data(), dy.data(), dw_acc.data(), Grad::Accumulate);

    Tensor gx = test::upload(gpu, x), gw = test::upload(gpu, w), gdy = test::upload(gpu, dy);
    Tensor gy = Tensor::empty(gpu, {int64_t(ny)}), gdx = Tensor::empty(gpu, {int64_t(nx)});
    Tensor gdw = test::upload(gpu, dw0), gdw_acc = test::upload(gpu, dw0);  // Overwrite must ignore dw0
    conv2d_forward(gpu, g, gx.f32(), gw.f32(), gy.f32());
    conv2d_backward_data(gpu, g, gdy.f32(), gw.f32(), gdx.f32());
    conv2d_backward_filter(gpu, g, gx.f32(), gdy.f32(), gdw.f32(), Grad::Overwrite);
    conv2d_backward_filter(gpu, g, gx.f32(), gdy.f32(), gdw_acc.f32(), Grad::Accumulate);
    EXPECT_LT(test::rel_error(test::download(gpu, gy), y), kTol) << "fwd " << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdx), dx), kTol) << "bwd data " << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdw), dw), kTol) << "bwd filter " << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdw_acc), dw_acc), kTol) << "bwd filter acc " << what;

    // Transposed: input lives on the Ho x Wo side, output on the H x W side.
    const auto xt = test::random_vec(ny, ++seed), dyt = test::random_vec(nx, ++seed);
    std::vector<float> yt(nx), dxt(ny), dwt(nw), dwt_acc = dw0;
    conv_transpose2d_forward(cpu, g, xt.data(), w.data(), yt.data());
    conv_transpose2d_backward_data(cpu, g, dyt.data(), w.data(), dxt.data());
    conv_transpose2d_backward_filter(cpu, g, xt.data(), dyt.data(), dwt.data(), Grad::Overwrite);
    conv_transpose2d_backward_filter(cpu, g, xt.data(), dyt.data(), dwt_acc.data(), Grad::Accumulate);

    Tensor gxt = test::upload(gpu, xt), gdyt = test::upload(gpu, dyt);
    Tensor gyt = Tensor::empty(gpu, {int64_t(nx)}), gdxt = Tensor::empty(gpu, {int64_t(ny)});
    Tensor gdwt = test::upload(gpu, dw0), gdwt_acc = test::upload(gpu, dw0);
    conv_transpose2d_forward(gpu, g, gxt.f32(), gw.f32(), gyt.f32());
    conv_transpose2d_backward_data(gpu, g, gdyt.f32(), gw.f32(), gdxt.f32());
    conv_transpose2d_backward_filter(gpu, g, gxt.f32(), gdyt.f32(), gdwt.f32(), Grad::Overwrite);
    conv_transpose2d_backward_filter(gpu, g, gxt.f32(), gdyt.f32(), gdwt_acc.f32(), Grad::Accumulate);
    EXPECT_LT(test::rel_error(test::download(gpu, gyt), yt), kTol) << "T fwd " << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdxt), dxt), kTol) << "T bwd data " << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdwt), dwt), kTol) << "T bwd filter " << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdwt_acc), dwt_acc), kTol) << "T bwd filter acc " << what;
  }
}

// The fixed algorithms are deterministic: running a pass twice gives identical bits.
TEST(ConvGpu, RepeatsBitForBit) {
  DG_GPU_TEST_GUARD();
  Context gpu(Device::CUDA);
  const ConvGeom g{16, 32, 14, 14, 64, 3, 1, 1};
  const size_t nx = size_t(g.B) * g.Cin * g.H * g.W, ny = size_t(g.B) * g.Cout * g.Ho() * g.Wo(),
               nw = size_t(g.Cout) * g.Cin * g.K * g.K;
  Tensor gx = test::upload(gpu, test::random_vec(nx, 1)), gw = test::upload(gpu, test::random_vec(nw, 2));
  Tensor gdy = test::upload(gpu, test::random_vec(ny, 3));
  Tensor dx1 = Tensor::empty(gpu, {int64_t(nx)}), dx2 = Tensor::empty(gpu, {int64_t(nx)});
  Tensor dw1 = Tensor::empty(gpu, {int64_t(nw)}), dw2 = Tensor::empty(gpu, {int64_t(nw)});
  conv2d_backward_data(gpu, g, gdy.f32(), gw.f32(), dx1.f32());
  conv2d_backward_data(gpu, g, gdy.f32(), gw.f32(), dx2.f32());
  conv2d_backward_filter(gpu, g, gx.f32(), gdy.f32(), dw1.f32(), Grad::Overwrite);
  conv2d_backward_filter(gpu, g, gx.f32(), gdy.f32(), dw2.f32(), Grad::Overwrite);
  EXPECT_EQ(test::download(gpu, dx1), test::download(gpu, dx2));
  EXPECT_EQ(test::download(gpu, dw1), test::download(gpu, dw2));
}

}  // namespace
}  // namespace dg
