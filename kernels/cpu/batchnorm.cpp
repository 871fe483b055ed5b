// CPU reference for batch normalisation: per-channel statistics and gradient sums in double (two-pass:
// mean, then the centred sum of squares), outputs through the shared float expressions of batchnorm_body.h. Channels
// are independent, so they are split over the CPU threads; each channel's sums run in a fixed order.
#include <cmath>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/batchnorm_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {
namespace {

// Calls f(offset) for every element of channel c of a [B, C, HW] tensor, rows in order.
template <typename F>
void for_channel(int B, int C, int HW, int c, F f) {
  for (int b = 0; b < B; ++b) {
    const int64_t base = (int64_t(b) * C + c) * HW;
    for (int i = 0; i < HW; ++i) f(base + i);
  }
}

// Channel sums of dy and dy * xhat, the two reductions both backward passes need.
struct GradSums {
  double dy = 0, dy_xhat = 0;
};

GradSums grad_sums(const float* x, const float* dy, float mean, float inv_std, int B, int C, int HW, int c) {
  GradSums s;
  for_channel(B, C, HW, c, [&](int64_t k) {
    s.dy += dy[k];
    s.dy_xhat += double(dy[k]) * ((double(x[k]) - mean) * inv_std);
  });
  return s;
}

void add_param_grads(const GradSums& s, float* dgamma, float* dbeta, int c, Grad mode) {
  const bool acc = mode == Grad::Accumulate;
  if (dgamma) dgamma[c] = acc ? float(dgamma[c] + s.dy_xhat) : float(s.dy_xhat);
  if (dbeta) dbeta[c] = acc ? float(dbeta[c] + s.dy) : float(s.dy);
}

}  // namespace

void batchnorm_forward_train(Context&, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                             float* inv_std, float* running_mean, float* running_var, int B, int C, int HW, float eps,
                             float momentum) {
  const int64_t n = int64_t(B) * HW;
  if (n <= 0) return;
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int c = int(c0); c < int(c1); ++c) {
      double s = 0;
      for_channel(B, C, HW, c, [&](int64_t k) { s += x[k]; });
      const double mu = s / double(n);
      double sq = 0;
      for_channel(B, C, HW, c, [&](int64_t k) { sq += (x[k] - mu) * (x[k] - mu); });
      const float var = float(sq / double(n));
      mean[c] = float(mu);
      inv_std[c] = bn_inv_std(var, eps);
      for_channel(B, C, HW, c, [&](int64_t k) { y[k] = bn_affine(x[k], mean[c], inv_std[c], gamma[c], beta[c]); });
      if (running_mean && running_var) {
        running_mean[c] = bn_running(running_mean[c], mean[c], momentum);
        running_var[c] = bn_running(running_var[c], bn_unbiased(var, n), momentum);
      }
    }
  });
}

void batchnorm_forward_infer(Context&, const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int B, int C, int HW, float eps) {
  if (C <= 0 || HW <= 0) return;
  const BatchNormInferBody body{x, gamma, beta, running_mean, running_var, y, C, HW, eps};
  parallel_for(int64_t(B) * C * HW, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) body(i);
  });
}

void batchnorm_backward_train(Context&, const float* x, const float* dy, const float* gamma, const float* mean,
                              const float* inv_std, float* dx, float* dgamma, float* dbeta, int B, int C, int HW,
                              Grad mode) {
  const int64_t n = int64_t(B) * HW;
  if (n <= 0) return;
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int c = int(c0); c < int(c1); ++c) {
      const GradSums s = grad_sums(x, dy, mean[c], inv_std[c], B, C, HW, c);
      if (dx) {
        const float gi = gamma[c] * inv_std[c];
        const float mdy = float(s.dy / double(n)), mdyx = float(s.dy_xhat / double(n));
        for_channel(B, C, HW, c, [&](int64_t k) {
          dx[k] = bn_train_dx(dy[k], (x[k] - mean[c]) * inv_std[c], gi, mdy, mdyx);
        });
      }
      add_param_grads(s, dgamma, dbeta, c, mode);
    }
  });
}

void batchnorm_backward_infer(Context&, const float* x, const float* dy, const float* gamma, const float* running_mean,
                              const float* running_var, float* dx, float* dgamma, float* dbeta, int B, int C, int HW,
                              float eps, Grad mode) {
  parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int c = int(c0); c < int(c1); ++c) {
      const float is = bn_inv_std(running_var[c], eps);
      if (dx) {
        const float gi = gamma[c] * is;
        for_channel(B, C, HW, c, [&](int64_t k) { dx[k] = dy[k] * gi; });
      }
      add_param_grads(grad_sums(x, dy, running_mean[c], is, B, C, HW, c), dgamma, dbeta, c, mode);
    }
  });
}

}  // namespace dg::cpu
