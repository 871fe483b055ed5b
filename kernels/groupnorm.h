// Group normalisation over NCHW tensors viewed as [B, C, HW]: the C channels split into G groups of C / G
// consecutive channels, each (sample, group) normalised over its (C / G) * HW elements, then a per-channel affine
// map. No batch statistics, so a sample's output never depends on the others in its batch (the diffusion U-Net).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"

namespace dg {

// x, y [B, C, HW]; gamma, beta [C]; mean, inv_std [B, G] (written for the backward pass; inv_std = 1 / sqrt(var +
// eps), biased variance). y = gamma * (x - mean) * inv_std + beta. C must be a multiple of G.
DG_DECLARE_OP(groupnorm_forward,
              (Context & ctx, const float* x, const float* gamma, const float* beta, float* y, float* mean,
               float* inv_std, int B, int C, int HW, int G, float eps),
              (x, gamma, beta, y, mean, inv_std, B, C, HW, G, eps))

// Backward with xhat = (x - mean) * inv_std and n = (C / G) * HW per group:
//   dgamma[c] (+)= sum_{b,i} dy * xhat, dbeta[c] (+)= sum_{b,i} dy (per `mode`; either may be null),
//   dx = inv_std * (g - mean_group(g) - xhat * mean_group(g * xhat)) with g = gamma[c] * dy (overwritten; may be null).
DG_DECLARE_OP(groupnorm_backward,
              (Context & ctx, const float* x, const float* dy, const float* gamma, const float* mean,
               const float* inv_std, float* dx, float* dgamma, float* dbeta, int B, int C, int HW, int G, Grad mode),
              (x, dy, gamma, mean, inv_std, dx, dgamma, dbeta, B, C, HW, G, mode))

}  // namespace dg
