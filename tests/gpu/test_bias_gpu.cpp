// Bias on CUDA against the CPU reference: both backward kernels (inner == 1 and inner > 1), overwrite and
// accumulate, and bitwise repeatability of the reduction.
#include "kernels/bias.h"
#include "tests/gpu/gpu_compare.h"

namespace dg {
namespace {

TEST(BiasGpu, MatchesCpuReference) {
  DG_GPU_TEST_GUARD();
  Context cpu(Device::CPU), gpu(Device::CUDA);
  struct Shape3 { int rows, C, inner; };
  for (Shape3 s : {Shape3{300, 70, 1}, Shape3{8, 33, 49}, Shape3{3, 5, 1000}}) {
    const int n = s.rows * s.C * s.inner;
    const auto y0 = test::random_vec(n, 1), b = test::random_vec(s.C, 2), dy = test::random_vec(n, 3);
    const auto db0 = test::random_vec(s.C, 4);
    std::vector<float> y = y0, db = db0, dba = db0;
    bias_forward(cpu, y.data(), b.data(), s.rows, s.C, s.inner);
    bias_backward(cpu, dy.data(), db.data(), s.rows, s.C, s.inner, Grad::Overwrite);
    bias_backward(cpu, dy.data(), dba.data(), s.rows, s.C, s.inner, Grad::Accumulate);
    Tensor gy = test::upload(gpu, y0), gb = test::upload(gpu, b), gdy = test::upload(gpu, dy);
    Tensor gdb = test::upload(gpu, db0), gdba = test::upload(gpu, db0);
    bias_forward(gpu, gy.f32(), gb.f32(), s.rows, s.C, s.inner);
    bias_backward(gpu, gdy.f32(), gdb.f32(), s.rows, s.C, s.inner, Grad::Overwrite);
    bias_backward(gpu, gdy.f32(), gdba.f32(), s.rows, s.C, s.inner, Grad::Accumulate);
    const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.C) + "x" + std::to_string(s.inner);
    EXPECT_LT(test::rel_error(test::download(gpu, gy), y), 1e-6) << what;
    // Float sums of up to 3000 terms against the CPU's double sums.
    EXPECT_LT(test::rel_error(test::download(gpu, gdb), db), 1e-5) << what;
    EXPECT_LT(test::rel_error(test::download(gpu, gdba), dba), 1e-5) << what;
    Tensor again = test::upload(gpu, db0);
    bias_backward(gpu, gdy.f32(), again.f32(), s.rows, s.C, s.inner, Grad::Overwrite);
    EXPECT_EQ(test::download(gpu, again), test::download(gpu, gdb)) << what;  // fixed order: same bits
  }
}

}  // namespace
}  // namespace dg
