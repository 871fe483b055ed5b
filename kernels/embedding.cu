// CUDA launchers for the embedding lookup: the shared per-index bodies (backward: one thread per table element,
// so the accumulation needs no atomics and is deterministic).
#include "kernels/cuda_launch.cuh"
#include "kernels/embedding.h"
#include "kernels/embedding_body.h"

namespace dg::cuda {

void embedding_forward(Context& ctx, const float* table, const int32_t* ids, float* y, int B, int V, int D) {
  cuda_detail::for_each_index(ctx, "embedding_forward", int64_t(B) * D, EmbeddingForwardBody{table, ids, y, V, D});
}

void embedding_backward(Context& ctx, const float* dy, const int32_t* ids, float* dtable, int B, int V, int D) {
  cuda_detail::for_each_index(ctx, "embedding_backward", int64_t(V) * D, EmbeddingBackwardBody{dy, ids, dtable, B, D});
}

}  // namespace dg::cuda
