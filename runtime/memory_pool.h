// The caching memory pool: raw allocators (CUDA, host, and a capped fake for tests), size-bucketed
// caching, RAII blocks, statistics (in use, peak, cached) and the out-of-memory path
// (free the cache, retry once, then fail with the requested size, free/total memory and the stats).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dg {

// Where raw memory comes from. alloc returns nullptr when out of memory (it never throws for that).
class RawAllocator {
 public:
  virtual ~RawAllocator() = default;
  virtual void* alloc(size_t bytes) = 0;
  virtual void free(void* p) = 0;
  // Free and total bytes of the underlying memory, for out-of-memory messages.
  virtual void mem_info(size_t* free_bytes, size_t* total_bytes) = 0;
  virtual std::string name() const = 0;
};

std::unique_ptr<RawAllocator> make_host_allocator();
// CUDA device memory (cudaMalloc); only with the CUDA backend.
std::unique_ptr<RawAllocator> make_cuda_allocator();
// Host memory capped at `cap_bytes` in total: makes the out-of-memory path happen in tests.
std::unique_ptr<RawAllocator> make_capped_allocator(size_t cap_bytes);

struct PoolStats {
  size_t in_use = 0;      // bytes handed out and not yet returned (rounded sizes)
  size_t peak = 0;        // the most in_use ever was
  size_t cached = 0;      // bytes returned and kept for reuse
  size_t reserved = 0;    // in_use + cached: what the pool holds from the allocator
  uint64_t allocs = 0;    // requests served
  uint64_t cache_hits = 0;// requests served from the cache
  uint64_t oom_retries = 0;
  std::string to_string() const;
};

class MemoryPool;

// RAII handle to pool memory; returns it to the pool's cache on destruction.
class Block {
 public:
  Block() = default;
  Block(MemoryPool* pool, void* ptr, size_t bytes) : pool_(pool), ptr_(ptr), bytes_(bytes) {}
  ~Block();
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  Block(Block&& o) noexcept { *this = std::move(o); }
  Block& operator=(Block&& o) noexcept;
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  void reset();

 private:
  MemoryPool* pool_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

class MemoryPool {
 public:
  explicit MemoryPool(std::unique_ptr<RawAllocator> raw);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // Memory for `bytes` bytes (at least 256-byte aligned), from the cache when a block of the same
  // rounded size is there. Throws dg::Error on out-of-memory after one retry with an emptied cache.
  Block allocate(size_t bytes);
  // Returns every cached block to the allocator.
  void release_cache();
  PoolStats stats() const;
  // Rounds a request up to the pool's bucket size (so that similar sizes share cached blocks).
  static size_t round_size(size_t bytes);

 private:
  friend class Block;
  void give_back(void* p, size_t bytes);
  std::unique_ptr<RawAllocator> raw_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> cache_;  // rounded size -> free block
  PoolStats stats_;
};

}  // namespace dg
