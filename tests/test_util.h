// Test helpers: random inputs, central finite-difference gradient checks, relative error, and the GPU guard
// that skips with a reason (or fails under DIGITGEN_REQUIRE_GPU=1) when no device is usable.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "runtime/context.h"

namespace dg::test {

inline std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

// max |a - b| / max(max |b|, floor): relative error of a against the reference b.
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b, double floor = 1e-6) {
  EXPECT_EQ(a.size(), b.size());
  double num = 0, den = floor;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num = std::max(num, std::fabs(double(a[i]) - double(b[i])));
    den = std::max(den, std::fabs(double(b[i])));
  }
  return num / den;
}

// Checks `analytic` (dL/dx) against central differences of `loss` at x, perturbing each of up to
// `max_checks` coordinates by +-eps (evenly spread). Fails when |fd - analytic| > atol + rtol * |fd|.
inline void expect_grad_close(const std::function<double(const std::vector<float>&)>& loss, std::vector<float> x,
                              const std::vector<float>& analytic, double eps, double atol, double rtol,
                              const std::string& what, size_t max_checks = 64) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const size_t n = x.size();
  const size_t stride = n > max_checks ? n / max_checks : 1;
  for (size_t i = 0; i < n; i += stride) {
    const float saved = x[i];
    x[i] = float(saved + eps);
    const double lp = loss(x);
    x[i] = float(saved - eps);
    const double lm = loss(x);
    x[i] = saved;
    const double fd = (lp - lm) / (2 * eps);
    EXPECT_NEAR(analytic[i], fd, atol + rtol * std::fabs(fd)) << what << " at index " << i;
  }
}

// Weighted sum of outputs, the scalar loss used by the gradient checks: L = sum_i r[i] * y[i], so dL/dy = r.
inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * double(b[i]);
  return s;
}

}  // namespace dg::test

// In a GPU test: skip with the reason when no device is usable, or fail when DIGITGEN_REQUIRE_GPU=1.
#define DG_GPU_TEST_GUARD()                                                                          \
  do {                                                                                               \
    ::dg::DeviceProbe dg_probe_ = ::dg::probe_cuda();                                                \
    if (!dg_probe_.usable) {                                                                         \
      const char* dg_req_ = std::getenv("DIGITGEN_REQUIRE_GPU");                                     \
      if (dg_req_ && std::string(dg_req_) == "1")                                                    \
        FAIL() << "DIGITGEN_REQUIRE_GPU=1 but no usable device: " << dg_probe_.reason;               \
      GTEST_SKIP() << "no usable device: " << dg_probe_.reason;                                      \
    }                                                                                                \
  } while (0)
