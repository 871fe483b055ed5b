// CPU reference for channel concatenation: per batch item, a and b are contiguous runs of y, so plain copies.
#include <cstring>

#include "kernels/concat.h"

namespace dg::cpu {

void concat_channels_forward(Context&, const float* a, const float* b, float* y, int B, int Ca, int Cb, int S) {
  const size_t na = size_t(Ca) * S, nb = size_t(Cb) * S;
  for (int i = 0; i < B; ++i) {
    float* yi = y + i * (na + nb);
    if (na) std::memcpy(yi, a + i * na, sizeof(float) * na);
    if (nb) std::memcpy(yi + na, b + i * nb, sizeof(float) * nb);
  }
}

void concat_channels_backward(Context&, const float* dy, float* da, float* db, int B, int Ca, int Cb, int S) {
  const size_t na = size_t(Ca) * S, nb = size_t(Cb) * S;
  for (int i = 0; i < B; ++i) {
    const float* dyi = dy + i * (na + nb);
    if (da && na) std::memcpy(da + i * na, dyi, sizeof(float) * na);
    if (db && nb) std::memcpy(db + i * nb, dyi + na, sizeof(float) * nb);
  }
}

}  // namespace dg::cpu
