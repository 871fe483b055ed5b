// CPU reference for the embedding lookup: validates ids, then runs the shared per-index body (forward) or a single
// pass over the rows that adds in the body's order (backward).
#include "kernels/embedding.h"
#include "kernels/embedding_body.h"

namespace dg::cpu {
namespace {

void check_ids(const int32_t* ids, int B, int V) {
  for (int b = 0; b < B; ++b)
    DG_REQUIRE(ids[b] >= 0 && ids[b] < V, "embedding: id ", ids[b], " at position ", b, " is outside [0, ", V, ")");
}

}  // namespace

void embedding_forward(Context&, const float* table, const int32_t* ids, float* y, int B, int V, int D) {
  check_ids(ids, B, V);
  const EmbeddingForwardBody body{table, ids, y, V, D};
  const int64_t n = int64_t(B) * D;
  for (int64_t i = 0; i < n; ++i) body(i);
}

// One pass over the rows in increasing b, adding each into its table row: every table element receives its terms in
// the body's order (increasing b), so the result equals EmbeddingBackwardBody bit for bit, in B * D steps instead of
// V * D * B (the VQ-VAE's codebook and prior embedding have V of 128 and B of thousands of grid positions).
void embedding_backward(Context&, const float* dy, const int32_t* ids, float* dtable, int B, int V, int D) {
  check_ids(ids, B, V);
  for (int b = 0; b < B; ++b) {
    float* row = dtable + int64_t(ids[b]) * D;
    const float* g = dy + int64_t(b) * D;
    for (int d = 0; d < D; ++d) row[d] += g[d];
  }
}

}  // namespace dg::cpu
