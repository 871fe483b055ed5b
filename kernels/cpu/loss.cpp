// CPU reference for the losses: the shared per-element terms summed in double, and softmax cross-entropy as
// a plain per-row loop (max-subtracted log-sum-exp, first-max argmax for the correct count).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/loss.h"
#include "kernels/loss_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {
namespace {

template <typename Term>
void sum_terms(int64_t n, const Term& term, float scale, float* loss) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += term(i);
  *loss = float(double(scale) * s);
}

}  // namespace

void mse_loss(Context&, const float* pred, const float* target, float* loss, float* dpred, int64_t n, float scale) {
  sum_terms(n, MseTerm{pred, target, dpred, scale}, scale, loss);
}

// The VAE's hottest elementwise loop (B x 784 per step): written branch-free over chunks so that it vectorises,
// with the transcendental calls going to glibc's vector math (this file is compiled with -ffast-math; see
// CMakeLists.txt). Chunk sums are float, kept per chunk and added in order in double, so the total does not depend
// on how the chunks are split over the CPU threads.
void bce_logits_loss(Context&, const float* logits, const float* target, float* loss, float* dlogits, int64_t n,
                     float scale) {
  constexpr int64_t kChunk = 1024;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<float> chunk_sums(static_cast<size_t>(chunks));
  parallel_for(chunks, std::max<int64_t>(1, kElementwiseGrain / kChunk), [&](int64_t k0, int64_t k1) {
    float scratch[kChunk];
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t begin = k * kChunk, m = std::min(kChunk, n - begin);
      const float* x = logits + begin;
      const float* t = target + begin;
      float* g = dlogits ? dlogits + begin : scratch;
      float chunk = 0.0f;
      for (int64_t i = 0; i < m; ++i) {
        float gi;
        chunk += bce_logits_value_grad(x[i], t[i], &gi);
        g[i] = scale * gi;
      }
      chunk_sums[size_t(k)] = chunk;
    }
  });
  double total = 0;
  for (float c : chunk_sums) total += c;
  *loss = float(double(scale) * total);
}

void hinge_loss(Context&, const float* logits, float* loss, float* dlogits, int64_t n, float sign, float scale) {
  sum_terms(n, HingeTerm{logits, dlogits, sign, scale}, scale, loss);
}

void softmax_xent_loss(Context&, const float* logits, const int32_t* labels, float* loss, float* dlogits,
                       float* correct, int B, int C, float scale) {
  double total = 0;
  int64_t hits = 0;
  for (int b = 0; b < B; ++b) {
    const float* x = logits + int64_t(b) * C;
    const int label = labels[b];
    DG_REQUIRE(label >= 0 && label < C, "softmax_xent_loss: label ", label, " of row ", b, " is outside [0, ", C, ")");
    int arg = 0;
    for (int c = 1; c < C; ++c)
      if (x[c] > x[arg]) arg = c;
    const double mx = x[arg];
    double s = 0;
    for (int c = 0; c < C; ++c) s += std::exp(double(x[c]) - mx);
    total += mx + std::log(s) - double(x[label]);
    hits += arg == label;
    if (dlogits) {
      float* g = dlogits + int64_t(b) * C;
      for (int c = 0; c < C; ++c) g[c] = float(double(scale) * (std::exp(double(x[c]) - mx) / s - (c == label)));
    }
  }
  *loss = float(double(scale) * total);
  if (correct) *correct = float(hits);
}

void gaussian_kl_loss(Context&, const float* mu, const float* logvar, float* loss, float* dmu, float* dlogvar,
                      int64_t n, float scale, Grad mode) {
  sum_terms(n, GaussianKlTerm{mu, logvar, dmu, dlogvar, scale, mode == Grad::Accumulate}, scale, loss);
}

}  // namespace dg::cpu
