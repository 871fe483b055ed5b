// Group-norm math shared by the CPU reference and the CUDA kernels: the same float expressions for the
// normalisation and the input gradient on both backends.
#pragma once
#include <cmath>

#include "kernels/hd.h"

namespace dg {

DG_HD float gn_inv_std(float var, float eps) { return 1.0f / sqrtf(var + eps); }

DG_HD float gn_affine(float x, float mean, float inv_std, float gamma, float beta) {
  return gamma * ((x - mean) * inv_std) + beta;
}

// dx in the mean form: g = gamma * dy; mean_g and mean_gx are the group means of g and g * xhat.
DG_HD float gn_dx(float g, float xhat, float inv_std, float mean_g, float mean_gx) {
  return inv_std * (g - mean_g - xhat * mean_gx);
}

}  // namespace dg
