// Nearest neighbours from a GEMM block: squared distances d = |q_i|^2 + r_j - 2 <q_i, ref_j> of every query against a
// block of references, merged into each query's running list of its k smallest values. The evaluation's
// nearest-training-image distances (memorization), k-NN radii and manifold tests (precision and recall) are a
// GEMM (kernels/gemm.h) followed by this op, block by block, so no distance matrix is ever held whole.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

constexpr int kSqdistTopkMaxK = 8;  // the longest per-query list the op keeps

// dots [N, M] with dots[j * M + i] = <query i, reference j> (reference-major, so the device reads it coalesced;
// gemm(No, Yes, N, M, D, refs, queries) writes it); qnorm [M] = |q_i|^2; rnorm [N], per reference j, usually
// |ref_j|^2 (any per-reference offset works: |ref_j|^2 - radius_j^2 turns "nearest" into "deepest inside a ball").
// best [M, k] (ascending) and best_idx [M, k] hold each query's k smallest values so far and their reference
// indices; references j = 0 .. N-1 are numbered `offset + j` and merged in ascending order, and a value ties an
// earlier one only by being strictly smaller, so the lower index wins ties and results repeat bit for bit.
// Start the lists at +infinity and index -1. 1 <= k <= kSqdistTopkMaxK.
DG_DECLARE_OP(sqdist_topk,
              (Context & ctx, const float* dots, const float* qnorm, const float* rnorm, int M, int N, int k,
               int64_t offset, float* best, int32_t* best_idx),
              (dots, qnorm, rnorm, M, N, k, offset, best, best_idx))

}  // namespace dg
