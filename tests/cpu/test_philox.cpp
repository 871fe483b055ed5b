// Philox4x32-10 against the Random123 known-answer vectors, and the derived uniform and normal draws:
// range, independence from how an index is reached, and moments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>

#include "runtime/philox.h"

namespace dg {
namespace {

void expect_philox(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t e0,
                   uint32_t e1, uint32_t e2, uint32_t e3) {
  const Philox4 r = philox4x32_10(c0, c1, c2, c3, k0, k1);
  EXPECT_EQ(r.v[0], e0) << std::hex << "word 0: got 0x" << r.v[0] << ", expected 0x" << e0;
  EXPECT_EQ(r.v[1], e1) << std::hex << "word 1: got 0x" << r.v[1] << ", expected 0x" << e1;
  EXPECT_EQ(r.v[2], e2) << std::hex << "word 2: got 0x" << r.v[2] << ", expected 0x" << e2;
  EXPECT_EQ(r.v[3], e3) << std::hex << "word 3: got 0x" << r.v[3] << ", expected 0x" << e3;
}

// The known-answer vectors published with Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(Philox, Random123KnownAnswers) {
  expect_philox(0, 0, 0, 0, 0, 0, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
  expect_philox(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du,
                0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
  expect_philox(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u,
                0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

// The documented counter layout: counter = (index lo, index hi, step, purpose), key = seed (lo, hi).
TEST(Philox, CounterLayout) {
  const uint64_t seed = 0x0123456789abcdefull;
  const uint64_t block = 0x0000000500000007ull;
  const Philox4 a = philox_block(seed, 9, block, 3);
  const Philox4 b = philox4x32_10(7, 5, 3, 9, 0x89abcdefu, 0x01234567u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.v[i], b.v[i]) << i;
  // Element index i is word i % 4 of block i / 4.
  for (uint64_t i = 0; i < 16; ++i)
    EXPECT_EQ(philox_u32(seed, 9, block * 4 + i, 3), philox_block(seed, 9, block + i / 4, 3).v[i % 4]) << i;
  // Seed, purpose, step and the high index word each change the draw.
  const uint32_t base = philox_u32(1, 1, 0, 0);
  EXPECT_NE(base, philox_u32(2, 1, 0, 0));
  EXPECT_NE(base, philox_u32(uint64_t(1) << 32 | 1, 1, 0, 0));
  EXPECT_NE(base, philox_u32(1, 2, 0, 0));
  EXPECT_NE(base, philox_u32(1, 1, 0, 1));
  EXPECT_NE(base, philox_u32(1, 1, uint64_t(1) << 34, 0));
}

TEST(Philox, UniformIsInHalfOpenUnitInterval) {
  EXPECT_GT(philox_u32_to_unit(0u), 0.0f);
  EXPECT_EQ(philox_u32_to_unit(0u), 1.0f / 16777216.0f);
  EXPECT_EQ(philox_u32_to_unit(0xffffffffu), 1.0f);
  EXPECT_EQ(philox_u32_to_unit(0x000000ffu), philox_u32_to_unit(0u));  // only the top 24 bits count
  const int n = 200000;
  double sum = 0, sum2 = 0;
  float lo = 2, hi = -1;
  for (int i = 0; i < n; ++i) {
    const float u = philox_uniform(42, kPurposeAugment, uint64_t(i), 7);
    ASSERT_GT(u, 0.0f) << i;
    ASSERT_LE(u, 1.0f) << i;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
    sum2 += double(u) * u;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Standard errors at n = 2e5: mean 6.5e-4, variance 1.9e-4; bounds are about 5 sigma.
  EXPECT_NEAR(mean, 0.5, 3.5e-3);
  EXPECT_NEAR(var, 1.0 / 12.0, 1e-3);
  EXPECT_LT(lo, 1e-4f);
  EXPECT_GT(hi, 1.0f - 1e-4f);
}

TEST(Philox, NormalMoments) {
  const int n = 200000;
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0, lag = 0;
  double prev = 0;
  int beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = philox_normal(7, kPurposeSampleLatent, uint64_t(i), 0);
    ASSERT_TRUE(std::isfinite(z)) << i;
    s1 += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
    if (i) lag += z * prev;
    prev = z;
    if (std::fabs(z) > 3) ++beyond3;
  }
  const double mean = s1 / n, m2 = s2 / n, m3 = s3 / n, m4 = s4 / n;
  // Standard errors at n = 2e5: mean 2.2e-3, E[z^2] 3.2e-3, E[z^3] 8.7e-3, E[z^4] 0.022; bounds about 5 sigma.
  EXPECT_NEAR(mean, 0.0, 0.012);
  EXPECT_NEAR(m2, 1.0, 0.016);
  EXPECT_NEAR(m3, 0.0, 0.045);
  EXPECT_NEAR(m4, 3.0, 0.11);
  // The pair (cos, sin) of one Box-Muller draw is uncorrelated, and so are neighbours in general.
  EXPECT_NEAR(lag / (n - 1), 0.0, 0.012);
  // P(|z| > 3) = 0.0027: expect about 540.
  EXPECT_GT(beyond3, 400);
  EXPECT_LT(beyond3, 700);
}

TEST(Philox, DrawsDependOnIndexNotOnOrder) {
  // The same index gives the same number however it is reached, and nearby indices differ.
  std::set<uint32_t> seen;
  for (uint64_t i = 0; i < 1000; ++i) {
    const uint32_t x = philox_u32(99, kPurposeDropout, i, 1);
    EXPECT_EQ(x, philox_u32(99, kPurposeDropout, i, 1));
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 1000u);
  for (uint64_t i = 0; i < 64; ++i) {
    const float z = philox_normal(3, kPurposeReparam, 1000 + i, 2);
    EXPECT_EQ(z, philox_normal(3, kPurposeReparam, 1000 + i, 2));
  }
}

}  // namespace
}  // namespace dg
