// Caching pool logic and the host and capped allocators (the CUDA allocator is in memory_pool_cuda.cu).
#include "runtime/memory_pool.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "runtime/error.h"

namespace dg {

namespace {

class HostAllocator : public RawAllocator {
 public:
  void* alloc(size_t bytes) override {
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return nullptr;
    return p;
  }
  void free(void* p) override { std::free(p); }
  void mem_info(size_t* free_bytes, size_t* total_bytes) override {
    size_t total = 0, avail = 0;
    std::ifstream in("/proc/meminfo");
    std::string key;
    size_t value;
    std::string unit;
    while (in >> key >> value >> unit) {
      if (key == "MemTotal:") total = value * 1024;
      if (key == "MemAvailable:") avail = value * 1024;
    }
    *free_bytes = avail;
    *total_bytes = total;
  }
  std::string name() const override { return "host"; }
};

class CappedAllocator : public RawAllocator {
 public:
  explicit CappedAllocator(size_t cap) : cap_(cap) {}
  void* alloc(size_t bytes) override {
    if (used_ + bytes > cap_) return nullptr;
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return nullptr;
    used_ += bytes;
    sizes_[p] = bytes;
    return p;
  }
  void free(void* p) override {
    used_ -= sizes_.at(p);
    sizes_.erase(p);
    std::free(p);
  }
  void mem_info(size_t* free_bytes, size_t* total_bytes) override {
    *free_bytes = cap_ - used_;
    *total_bytes = cap_;
  }
  std::string name() const override { return "capped-host"; }

 private:
  size_t cap_;
  size_t used_ = 0;
  std::unordered_map<void*, size_t> sizes_;
};

std::string human_bytes(size_t b) {
  std::ostringstream os;
  if (b >= (size_t(1) << 30)) os << double(b) / double(size_t(1) << 30) << " GiB";
  else if (b >= (size_t(1) << 20)) os << double(b) / double(size_t(1) << 20) << " MiB";
  else if (b >= 1024) os << double(b) / 1024.0 << " KiB";
  else os << b << " B";
  return os.str();
}

}  // namespace

std::unique_ptr<RawAllocator> make_host_allocator() { return std::make_unique<HostAllocator>(); }
std::unique_ptr<RawAllocator> make_capped_allocator(size_t cap) { return std::make_unique<CappedAllocator>(cap); }

std::string PoolStats::to_string() const {
  std::ostringstream os;
  os << "in use " << human_bytes(in_use) << ", peak " << human_bytes(peak) << ", cached " << human_bytes(cached)
     << ", reserved " << human_bytes(reserved) << ", " << allocs << " allocations (" << cache_hits << " from cache)";
  return os.str();
}

Block::~Block() { reset(); }

Block& Block::operator=(Block&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = o.pool_;
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.pool_ = nullptr;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

void Block::reset() {
  if (pool_ && ptr_) pool_->give_back(ptr_, bytes_);
  pool_ = nullptr;
  ptr_ = nullptr;
  bytes_ = 0;
}

MemoryPool::MemoryPool(std::unique_ptr<RawAllocator> raw) : raw_(std::move(raw)) {}

MemoryPool::~MemoryPool() { release_cache(); }

size_t MemoryPool::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  // Small requests round to 512 B; larger ones to 1/16 of the next power of two p. A request is over p / 2, so
  // the waste (under p / 16) stays below 12.5% of the request (1/8 of p allowed up to 25%).
  if (bytes <= 4096) return (bytes + 511) / 512 * 512;
  size_t p = 1;
  while (p < bytes) p <<= 1;
  size_t step = p / 16;
  return (bytes + step - 1) / step * step;
}

Block MemoryPool::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  stats_.allocs++;
  auto it = cache_.find(size);
  void* p = nullptr;
  if (it != cache_.end()) {
    p = it->second;
    cache_.erase(it);
    stats_.cached -= size;
    stats_.cache_hits++;
  } else {
    p = raw_->alloc(size);
    if (!p) {
      // Out of memory: return the cache to the allocator and retry once.
      stats_.oom_retries++;
      for (auto& kv : cache_) raw_->free(kv.second);
      stats_.reserved -= stats_.cached;
      stats_.cached = 0;
      cache_.clear();
      p = raw_->alloc(size);
    }
    if (!p) {
      size_t free_b = 0, total_b = 0;
      raw_->mem_info(&free_b, &total_b);
      fail("out of ", raw_->name(), " memory: requested ", bytes, " bytes (", human_bytes(size),
           " rounded); free ", human_bytes(free_b), " of ", human_bytes(total_b), "; pool: ", stats_.to_string(),
           ". Try a smaller --batch or model.");
    }
    stats_.reserved += size;
  }
  stats_.in_use += size;
  if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  return Block(this, p, size);
}

void MemoryPool::give_back(void* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.emplace(bytes, p);
  stats_.in_use -= bytes;
  stats_.cached += bytes;
}

void MemoryPool::release_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : cache_) raw_->free(kv.second);
  stats_.reserved -= stats_.cached;
  stats_.cached = 0;
  cache_.clear();
}

PoolStats MemoryPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace dg
