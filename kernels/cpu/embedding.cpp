// CPU reference for the embedding lookup: validates ids, then runs the shared per-index bodies.
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

void embedding_backward(Context&, const float* dy, const int32_t* ids, float* dtable, int B, int V, int D) {
  check_ids(ids, B, V);
  const EmbeddingBackwardBody body{dy, ids, dtable, B, D};
  const int64_t n = int64_t(V) * D;
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace dg::cpu
