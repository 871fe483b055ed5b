// CUDA channel concatenation: one thread per element of y (forward) or dy (backward), which picks its source or
// destination half; every element is written exactly once.
#include "kernels/concat.h"
#include "kernels/cuda_launch.cuh"

namespace dg::cuda {
namespace {

// Where element i of y [B, Ca + Cb, S] comes from: the a half or the b half, at flat offset `off` there.
struct ConcatIndex {
  bool in_a; int64_t off;
};
__device__ __forceinline__ ConcatIndex locate(int64_t i, int64_t na, int64_t nb) {
  const int64_t item = i / (na + nb), r = i % (na + nb);
  return r < na ? ConcatIndex{true, item * na + r} : ConcatIndex{false, item * nb + (r - na)};
}

struct ConcatForwardBody {
  const float* a; const float* b; float* y; int64_t na, nb;
  __device__ void operator()(int64_t i) const {
    const ConcatIndex c = locate(i, na, nb);
    y[i] = c.in_a ? a[c.off] : b[c.off];
  }
};

struct ConcatBackwardBody {
  const float* dy; float* da; float* db; int64_t na, nb;
  __device__ void operator()(int64_t i) const {
    const ConcatIndex c = locate(i, na, nb);
    float* dst = c.in_a ? da : db;
    if (dst) dst[c.off] = dy[i];
  }
};

}  // namespace

void concat_channels_forward(Context& ctx, const float* a, const float* b, float* y, int B, int Ca, int Cb, int S) {
  const int64_t na = int64_t(Ca) * S, nb = int64_t(Cb) * S;
  cuda_detail::for_each_index(ctx, "concat_channels_forward", B * (na + nb), ConcatForwardBody{a, b, y, na, nb});
}

void concat_channels_backward(Context& ctx, const float* dy, float* da, float* db, int B, int Ca, int Cb, int S) {
  if (!da && !db) return;
  const int64_t na = int64_t(Ca) * S, nb = int64_t(Cb) * S;
  cuda_detail::for_each_index(ctx, "concat_channels_backward", B * (na + nb), ConcatBackwardBody{dy, da, db, na, nb});
}

}  // namespace dg::cuda
