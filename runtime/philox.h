// Counter-based random numbers (Philox4x32-10), written once for host and device so the CPU and the GPU
// draw the same numbers. One counter layout for the whole program: key = seed, counter = (index, step, purpose).
// A draw depends only on (seed, purpose, index, step), never on batch size or launch shape.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace dg {

// Purpose ids: each kind of randomness draws from its own stream. Documented in docs/conventions.md;
// append new ids, never renumber.
enum PhiloxPurpose : uint32_t {
  kPurposeDataShuffle = 1,      // index: position in the shuffle, step: epoch
  kPurposeAugment = 2,          // index: training step * B + row, step: 0
  kPurposeDropout = 3,          // index: element, step: training step (+ layer id << 24)
  kPurposeReparam = 4,          // index: element, step: training step
  kPurposeSampleLatent = 5,     // index: sample index * latent size + j, step: 0
  kPurposeInit = 6,             // index: parameter element, step: parameter tensor id
  kPurposeDiffusionTrain = 7,   // noise: index (training step * B + row) * pixels + pixel, step 0; timestep: index
                                // training step * B + row, step 1 (test metrics: image index instead of step * B + row)
  kPurposeDiffusionSample = 8,  // index: sample index * pixels + pixel, step: the timestep denoised (T: start noise)
  kPurposeLabelDropout = 9,     // index: training step * B + row, step 0 (classifier-free guidance's null label)
  kPurposeGanNoise = 10,        // reserved for the GAN
  kPurposeBinarize = 11,        // index: image index * pixels + pixel, step: training step (0 for the fixed test set)
  kPurposeSpectralInit = 12,    // index: element of u (j) then v (rows + j), step: id of the normalised weight
  kPurposeCodebookRestart = 13, // index: code k, step: training step (dead-code restarts and the codebook init)
  kPurposePriorSample = 14,     // index: sample index * grid positions + position, step: 0 (prior sampling)
  kPurposeEvalSubset = 15,      // index: position in a partial Fisher-Yates shuffle, step: which selection
};

struct Philox4 {
  uint32_t v[4];
};

DG_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(p >> 32);
  *lo = uint32_t(p);
}

// The raw generator: 10 rounds of Philox4x32 on counter c under key k.
DG_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, &hi0, &lo0);
    philox_mulhilo(0xCD9E8D57u, c2, &hi1, &lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n1 = lo1;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    const uint32_t n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  Philox4 r;
  r.v[0] = c0; r.v[1] = c1; r.v[2] = c2; r.v[3] = c3;
  return r;
}

// Four 32-bit draws for one (seed, purpose, block, step).
DG_HD Philox4 philox_block(uint64_t seed, uint32_t purpose, uint64_t block, uint32_t step) {
  return philox4x32_10(uint32_t(block), uint32_t(block >> 32), step, purpose, uint32_t(seed), uint32_t(seed >> 32));
}

// Uniform in (0, 1]: never 0, so log() is safe.
DG_HD float philox_u32_to_unit(uint32_t x) { return (float(x >> 8) + 1.0f) * (1.0f / 16777216.0f); }

DG_HD uint32_t philox_u32(uint64_t seed, uint32_t purpose, uint64_t index, uint32_t step) {
  return philox_block(seed, purpose, index >> 2, step).v[index & 3];
}

DG_HD float philox_uniform(uint64_t seed, uint32_t purpose, uint64_t index, uint32_t step) {
  return philox_u32_to_unit(philox_u32(seed, purpose, index, step));
}

// Standard normal by Box-Muller: elements 2j and 2j+1 share one Philox block.
DG_HD float philox_normal(uint64_t seed, uint32_t purpose, uint64_t index, uint32_t step) {
  const Philox4 r = philox_block(seed, purpose, index >> 1, step);
  const float u1 = philox_u32_to_unit(r.v[0]);
  const float u2 = philox_u32_to_unit(r.v[1]);
  const float radius = sqrtf(-2.0f * logf(u1));
  const float angle = 6.2831853071795865f * u2;
  return (index & 1) ? radius * sinf(angle) : radius * cosf(angle);
}

}  // namespace dg
