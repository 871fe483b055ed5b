// CPU reference for spectral normalisation: the power iteration's products through dg::cpu::gemm, norms and
// sums in double, the elementwise steps through the shared bodies; also the Philox initialisation of u, v.
#include <cmath>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/spectral_norm.h"
#include "kernels/spectral_norm_body.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace dg::cpu {
namespace {

void normalize(float* a, int n) {
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += double(a[i]) * a[i];
  const float d = spectral_norm_denominator(float(std::sqrt(ss)));
  for (int i = 0; i < n; ++i) a[i] /= d;
}

}  // namespace

void spectral_norm_forward(Context& ctx, const float* W, float* u, float* v, float* W_sn, float* sigma, int rows,
                           int cols, int n_iter) {
  if (rows <= 0 || cols <= 0) return;
  for (int it = 0; it < n_iter; ++it) {
    cpu::gemm(ctx, Transpose::Yes, Transpose::No, cols, 1, rows, 1.0f, W, u, 0.0f, v);
    normalize(v, cols);
    cpu::gemm(ctx, Transpose::No, Transpose::No, rows, 1, cols, 1.0f, W, v, 0.0f, u);
    normalize(u, rows);
  }
  // sigma from a fresh W v rather than the last iteration's norm, so n_iter = 0 (evaluation) works too.
  std::vector<float> wv(static_cast<size_t>(rows));
  cpu::gemm(ctx, Transpose::No, Transpose::No, rows, 1, cols, 1.0f, W, v, 0.0f, wv.data());
  double s = 0;
  for (int r = 0; r < rows; ++r) s += double(u[r]) * wv[size_t(r)];
  sigma[0] = float(s);
  const SpectralScaleBody body{W, sigma, W_sn};
  for (int64_t i = 0, n = int64_t(rows) * cols; i < n; ++i) body(i);
}

void spectral_norm_backward(Context&, const float* dW_sn, const float* W_sn, const float* u, const float* v,
                            const float* sigma, float* dW, int rows, int cols, Grad mode) {
  const int64_t n = int64_t(rows) * cols;
  if (n <= 0) return;
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += double(dW_sn[i]) * W_sn[i];
  const float s = float(acc);
  const SpectralBackwardBody body{dW_sn, u, v, sigma, &s, dW, cols, mode == Grad::Accumulate};
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu

namespace dg {

SpectralNormState spectral_norm_init(Context& ctx, int rows, int cols, uint64_t seed, uint32_t weight_id) {
  DG_REQUIRE(rows > 0 && cols > 0, "spectral_norm_init: expected a positive shape, got ", rows, " x ", cols);
  std::vector<float> u(static_cast<size_t>(rows)), v(static_cast<size_t>(cols));
  for (int j = 0; j < rows; ++j) u[size_t(j)] = philox_normal(seed, kPurposeSpectralInit, uint64_t(j), weight_id);
  for (int j = 0; j < cols; ++j)
    v[size_t(j)] = philox_normal(seed, kPurposeSpectralInit, uint64_t(rows) + uint64_t(j), weight_id);
  cpu::normalize(u.data(), rows);
  cpu::normalize(v.data(), cols);
  return {Tensor::from_host(ctx, {rows}, u.data()), Tensor::from_host(ctx, {cols}, v.data())};
}

}  // namespace dg
