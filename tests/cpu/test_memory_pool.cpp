// The caching memory pool: reuse of returned blocks, statistics, bucket rounding, the out-of-memory path
// (release the cache, retry once, then a message with the request, free memory and the pool's stats) and
// the RAII Block's move semantics.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "runtime/error.h"
#include "runtime/memory_pool.h"

namespace dg {
namespace {

TEST(MemoryPool, ReturnedBlockIsReusedForTheSameRoundedSize) {
  MemoryPool pool(make_host_allocator());
  void* first = nullptr;
  {
    Block b = pool.allocate(1000);
    first = b.get();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 256, 0u);
    EXPECT_EQ(b.bytes(), MemoryPool::round_size(1000));
  }
  // 900 and 1000 bytes share the 1024-byte bucket, so the cached block comes back.
  ASSERT_EQ(MemoryPool::round_size(900), MemoryPool::round_size(1000));
  Block again = pool.allocate(900);
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(pool.stats().cache_hits, 1u);
  EXPECT_EQ(pool.stats().allocs, 2u);
  // A different bucket does not take it.
  Block other = pool.allocate(100000);
  EXPECT_NE(other.get(), first);
  EXPECT_EQ(pool.stats().cache_hits, 1u);
}

TEST(MemoryPool, StatisticsThroughASequence) {
  MemoryPool pool(make_host_allocator());
  const size_t a = MemoryPool::round_size(3000), b = MemoryPool::round_size(50000), c = MemoryPool::round_size(9000);
  auto expect_stats = [&](size_t in_use, size_t peak, size_t cached, const char* when) {
    const PoolStats s = pool.stats();
    EXPECT_EQ(s.in_use, in_use) << when;
    EXPECT_EQ(s.peak, peak) << when;
    EXPECT_EQ(s.cached, cached) << when;
    EXPECT_EQ(s.reserved, in_use + cached) << when;
  };
  expect_stats(0, 0, 0, "fresh");
  Block ba = pool.allocate(3000);
  Block bb = pool.allocate(50000);
  expect_stats(a + b, a + b, 0, "two live");
  bb.reset();
  expect_stats(a, a + b, b, "one returned");
  Block bc = pool.allocate(9000);  // another bucket: fresh memory, the peak stays
  ASSERT_LT(c, b);
  expect_stats(a + c, a + b, b, "third live");
  Block bb2 = pool.allocate(50000);  // from the cache
  expect_stats(a + b + c, a + b + c, 0, "reused");
  EXPECT_EQ(pool.stats().cache_hits, 1u);
  ba.reset();
  bb2.reset();
  bc.reset();
  expect_stats(0, a + b + c, a + b + c, "all returned");
  pool.release_cache();
  expect_stats(0, a + b + c, 0, "cache released");
  EXPECT_EQ(pool.stats().allocs, 4u);
  EXPECT_EQ(pool.stats().oom_retries, 0u);
  const std::string text = pool.stats().to_string();
  EXPECT_NE(text.find("in use"), std::string::npos) << text;
  EXPECT_NE(text.find("peak"), std::string::npos) << text;
  EXPECT_NE(text.find("cached"), std::string::npos) << text;
}

TEST(MemoryPool, RoundSizeProperties) {
  EXPECT_EQ(MemoryPool::round_size(0), 512u);
  EXPECT_EQ(MemoryPool::round_size(1), 512u);
  EXPECT_EQ(MemoryPool::round_size(512), 512u);
  EXPECT_EQ(MemoryPool::round_size(513), 1024u);
  EXPECT_EQ(MemoryPool::round_size(4096), 4096u);
  size_t prev = 0;
  for (size_t n = 1; n < (size_t(1) << 22); n = n * 5 / 4 + 1) {
    for (size_t m : {n, n + 1, n + 255}) {
      const size_t r = MemoryPool::round_size(m);
      EXPECT_GE(r, m) << m;
      EXPECT_EQ(r % 256, 0u) << m;                  // every block keeps the 256-byte alignment
      EXPECT_EQ(MemoryPool::round_size(r), r) << m;  // bucket sizes are fixed points
      if (m > 4096) EXPECT_LT(r - m, m / 8 + 1) << m << " rounds to " << r << ": more than 12.5% waste";
    }
    const size_t r = MemoryPool::round_size(n);
    EXPECT_GE(r, prev) << n;  // monotone
    prev = r;
  }
  // Powers of two are buckets themselves.
  for (int k = 9; k < 40; ++k) EXPECT_EQ(MemoryPool::round_size(size_t(1) << k), size_t(1) << k) << k;
}

TEST(MemoryPool, OutOfMemoryReleasesCacheAndRetries) {
  const size_t big = MemoryPool::round_size(600 * 1024);
  MemoryPool pool(make_capped_allocator(1 << 20));  // 1 MiB in all
  { Block b = pool.allocate(600 * 1024); }          // cached, still holding 600 KiB of the cap
  ASSERT_EQ(pool.stats().cached, big);
  // Another bucket that does not fit next to the cached block: the pool frees its cache and the retry succeeds.
  Block other = pool.allocate(700 * 1024);
  ASSERT_NE(other.get(), nullptr);
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.oom_retries, 1u);
  EXPECT_EQ(s.cached, 0u);
  EXPECT_EQ(s.in_use, MemoryPool::round_size(700 * 1024));
  EXPECT_EQ(s.reserved, s.in_use);
}

TEST(MemoryPool, OutOfMemoryAfterRetryNamesRequestFreeMemoryAndStats) {
  MemoryPool pool(make_capped_allocator(1 << 20));
  Block live = pool.allocate(512 * 1024);
  { Block cached = pool.allocate(200 * 1024); }
  const size_t request = 700 * 1024;
  try {
    Block b = pool.allocate(request);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(std::to_string(request)), std::string::npos) << msg;
    EXPECT_NE(msg.find("free"), std::string::npos) << msg;
    EXPECT_NE(msg.find("in use"), std::string::npos) << msg;  // the pool's statistics
    EXPECT_NE(msg.find("peak"), std::string::npos) << msg;
    EXPECT_NE(msg.find("capped-host"), std::string::npos) << msg;
  }
  // The cache was released on the way; the live block is untouched and the pool still works.
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.oom_retries, 1u);
  EXPECT_EQ(s.cached, 0u);
  EXPECT_EQ(s.in_use, MemoryPool::round_size(512 * 1024));
  EXPECT_EQ(s.reserved, s.in_use);
  Block small = pool.allocate(1000);
  EXPECT_NE(small.get(), nullptr);
}

TEST(MemoryPool, BlockMoveTransfersOwnership) {
  MemoryPool pool(make_host_allocator());
  Block a = pool.allocate(2000);
  void* p = a.get();
  const size_t n = a.bytes();
  Block b(std::move(a));
  EXPECT_EQ(a.get(), nullptr);
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_EQ(b.get(), p);
  EXPECT_EQ(b.bytes(), n);
  EXPECT_EQ(pool.stats().in_use, n);  // a moved-from block returns nothing

  Block c = pool.allocate(10000);
  const size_t nc = c.bytes();
  c = std::move(b);  // c's old memory goes back to the cache, c now holds p
  EXPECT_EQ(c.get(), p);
  EXPECT_EQ(b.get(), nullptr);
  EXPECT_EQ(pool.stats().in_use, n);
  EXPECT_EQ(pool.stats().cached, nc);

  Block& alias = c;
  c = std::move(alias);  // self-move keeps the block
  EXPECT_EQ(c.get(), p);
  EXPECT_EQ(pool.stats().in_use, n);

  a.reset();  // resetting an empty block is harmless
  c.reset();
  EXPECT_EQ(c.get(), nullptr);
  EXPECT_EQ(pool.stats().in_use, 0u);
  EXPECT_EQ(pool.stats().cached, n + nc);
  c.reset();  // twice: still nothing returned twice
  EXPECT_EQ(pool.stats().cached, n + nc);
}

}  // namespace
}  // namespace dg
