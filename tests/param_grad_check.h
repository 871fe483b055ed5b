// Whole-model gradient checks: the largest few gradients of every tensor of a parameter store against central
// differences of the loss, nudging one weight at a time. Shared by the model and GAN gradient tests.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "models/params.h"

namespace dg::test {

// `loss_now` recomputes the loss and (on its first call) fills ps.grads(); it must leave the weights unchanged.
// Gradients below 1e-3 are skipped as under the float noise of the difference quotient. Fails when
// |g - fd| > atol + rtol * |fd|; returns how many gradients were checked.
inline int expect_store_grads_close(Context& ctx, ParamStore& ps, const std::function<double()>& loss_now, float eps,
                                    double atol, double rtol, const std::string& what, int per_tensor = 3) {
  const std::vector<float> before = ps.params().to_host(ctx);
  loss_now();
  const std::vector<float> grad = ps.grads().to_host(ctx);
  EXPECT_EQ(ps.params().to_host(ctx), before) << what << ": computing gradients changed the weights";
  std::vector<float> p = before;
  auto set_params = [&] { copy_to_device(ctx, ps.params().raw(), p.data(), p.size() * sizeof(float)); };
  int checked = 0;
  for (const ParamSpec& spec : ps.specs()) {
    const int64_t n = numel(spec.shape);
    const int64_t k_max = std::min<int64_t>(per_tensor, n);
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k_max, idx.end(), [&](int64_t a, int64_t b) {
      return std::fabs(grad[size_t(spec.offset + a)]) > std::fabs(grad[size_t(spec.offset + b)]);
    });
    for (int64_t k = 0; k < k_max; ++k) {
      const size_t at = size_t(spec.offset + idx[size_t(k)]);
      const double g = grad[at];
      if (std::fabs(g) < 1e-3) continue;
      p[at] = before[at] + eps;
      set_params();
      const double lp = loss_now();
      p[at] = before[at] - eps;
      set_params();
      const double lm = loss_now();
      p[at] = before[at];
      set_params();
      const double fd = (lp - lm) / (2.0 * eps);
      EXPECT_NEAR(g, fd, atol + rtol * std::fabs(fd)) << what << ": " << spec.name << " element " << idx[size_t(k)];
      ++checked;
    }
  }
  return checked;
}

}  // namespace dg::test
