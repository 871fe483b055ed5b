// CPU reference for group normalisation: group statistics and gradient sums in double (two passes: mean, then the
// centred sum of squares; lane_sum.h fixes their order), outputs through the shared float expressions of groupnorm_body.h. The (image, group)
// pairs, and the channels of the parameter gradients, are independent, so they are split over the worker pool and
// every sum keeps its serial order: results do not depend on the thread count.
#include <algorithm>

#include "kernels/groupnorm.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/groupnorm_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {

void groupnorm_forward(Context&, const float* x, const float* gamma, const float* beta, float* y, float* mean,
                       float* inv_std, int B, int C, int HW, int G, float eps) {
  const int cg = C / G;
  const int64_t n = int64_t(cg) * HW;
  parallel_for(int64_t(B) * G, std::max<int64_t>(1, kElementwiseGrain / n), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / G, g = p % G;
      const int64_t base = (b * C + g * cg) * HW;
      const float* xg = x + base;
      const double mu = lane_sum(n, [xg](int64_t k) { return double(xg[k]); }) / double(n);
      const double sq = lane_sum(n, [xg, mu](int64_t k) { return (xg[k] - mu) * (xg[k] - mu); });
      const float m = float(mu), is = gn_inv_std(float(sq / double(n)), eps);
      mean[p] = m;
      inv_std[p] = is;
      for (int j = 0; j < cg; ++j) {
        const int64_t c = g * cg + j;
        const int64_t o = base + int64_t(j) * HW;
        for (int i = 0; i < HW; ++i) y[o + i] = gn_affine(x[o + i], m, is, gamma[c], beta[c]);
      }
    }
  });
}

void groupnorm_backward(Context&, const float* x, const float* dy, const float* gamma, const float* mean,
                        const float* inv_std, float* dx, float* dgamma, float* dbeta, int B, int C, int HW, int G,
                        Grad mode) {
  const int cg = C / G;
  const bool acc = mode == Grad::Accumulate;
  if (dgamma || dbeta)
    parallel_for(C, std::max<int64_t>(1, kElementwiseGrain / (int64_t(B) * HW)), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double sdy = 0, sdyx = 0;
        for (int b = 0; b < B; ++b) {
          const float m = mean[b * G + c / cg], is = inv_std[b * G + c / cg];
          const int64_t o = (int64_t(b) * C + c) * HW;
          const float *xc = x + o, *dyc = dy + o;
          sdy += lane_sum(HW, [dyc](int64_t i) { return double(dyc[i]); });
          sdyx += lane_sum(HW, [xc, dyc, m, is](int64_t i) { return double(dyc[i]) * ((xc[i] - m) * is); });
        }
        if (dgamma) dgamma[c] = acc ? float(dgamma[c] + sdyx) : float(sdyx);
        if (dbeta) dbeta[c] = acc ? float(dbeta[c] + sdy) : float(sdy);
      }
    });
  if (!dx) return;
  const int64_t n = int64_t(cg) * HW;
  parallel_for(int64_t(B) * G, std::max<int64_t>(1, kElementwiseGrain / n), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / G, g = p % G;
      const float m = mean[p], is = inv_std[p];
      double sg = 0, sgx = 0;
      for (int j = 0; j < cg; ++j) {
        const int64_t c = g * cg + j, o = (b * C + c) * HW;
        const float *xc = x + o, *dyc = dy + o;
        const double gc = gamma[c];
        sg += gc * lane_sum(HW, [dyc](int64_t i) { return double(dyc[i]); });
        sgx += gc * lane_sum(HW, [xc, dyc, m, is](int64_t i) { return double(dyc[i]) * ((xc[i] - m) * is); });
      }
      const float mg = float(sg / double(n)), mgx = float(sgx / double(n));
      for (int j = 0; j < cg; ++j) {
        const int64_t c = g * cg + j, o = (b * C + c) * HW;
        for (int i = 0; i < HW; ++i) dx[o + i] = gn_dx(gamma[c] * dy[o + i], (x[o + i] - m) * is, is, mg, mgx);
      }
    }
  });
}

}  // namespace dg::cpu
