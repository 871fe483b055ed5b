// U-Net pieces on their own: the residual block and the self-attention block, input and parameter gradients against
// central finite differences (the whole U-Net is in ModelGradient's ddpm case).
#include "models/unet.h"
#include "tests/param_grad_check.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// Checks dL/dx and every parameter's largest gradients for L = r . block(x), with the block as a callable pair.
void check_block(Context& ctx, ParamStore& ps, const Shape& shape, const std::function<Tensor(const Tensor&)>& fwd,
                 const std::function<Tensor(const Tensor&)>& bwd, const std::string& what) {
  const auto x = test::random_vec(size_t(numel(shape)), 1, -1.5f, 1.5f);
  const Tensor y0 = fwd(Tensor::from_host(ctx, shape, x.data()));
  const auto r = test::random_vec(size_t(y0.numel()), 2);
  auto loss_at = [&](const std::vector<float>& xx) {
    return test::dot(fwd(Tensor::from_host(ctx, shape, xx.data())).to_host(ctx), r);
  };
  ps.zero_grad(ctx);
  loss_at(x);
  const std::vector<float> dx = bwd(Tensor::from_host(ctx, y0.shape(), r.data())).to_host(ctx);
  // Tolerance: sums of up to a few hundred float products per output; eps 1e-2 keeps the quotient above rounding.
  test::expect_grad_close(loss_at, x, dx, 1e-2, 2e-3, 2e-2, what + " dx", 48);
  bool first = true;
  auto loss_now = [&] {
    const double l = loss_at(x);
    if (first) {
      ps.zero_grad(ctx);
      loss_at(x);
      bwd(Tensor::from_host(ctx, y0.shape(), r.data()));
      first = false;
    }
    return l;
  };
  EXPECT_GT(test::expect_store_grads_close(ctx, ps, loss_now, 1e-2f, 2e-3, 2e-2, what), 5);
}

TEST(UNetBlocks, AttentionBackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  ParamStore ps;
  AttentionBlock attn(ps, "attn", 4);
  ps.finalize(ctx, 3);
  check_block(ctx, ps, {2, 4, 3, 3}, [&](const Tensor& x) { return attn.forward(ctx, x); },
              [&](const Tensor& dy) { return attn.backward(ctx, dy); }, "attention");
}

TEST(UNetBlocks, ResBlockBackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  ParamStore ps;
  ResBlock blk(ps, "res", 4, 8, 6);
  ps.finalize(ctx, 4);
  const auto eh = test::random_vec(12, 5);
  const Tensor e = Tensor::from_host(ctx, {2, 6}, eh.data());
  Tensor de = Tensor::zeros(ctx, {2, 6});
  check_block(ctx, ps, {2, 4, 4, 4}, [&](const Tensor& x) { return blk.forward(ctx, x, e); },
              [&](const Tensor& dy) { return blk.backward(ctx, dy, de); }, "resblock");
}

}  // namespace
}  // namespace dg
