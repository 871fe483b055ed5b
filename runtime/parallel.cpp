// The worker pool behind parallel_for: workers sleep on a condition variable, take the pieces of the current job
// by an atomic counter, and the caller works on pieces too until none is left.
#include "runtime/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/error.h"

namespace dg {
namespace {

int default_threads() {
  if (const char* e = std::getenv("DIGITGEN_CPU_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(e, &end, 10);
    DG_REQUIRE(end != e && *end == '\0' && v >= 1 && v <= 1024,
               "DIGITGEN_CPU_THREADS: expected a thread count 1..1024, got '", e, "'");
    return int(v);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

thread_local bool t_inside_piece = false;

class Pool {
 public:
  static Pool& get() {
    static Pool pool;
    return pool;
  }

  int threads() const { return threads_.load(); }
  void set_threads(int n) { threads_.store(std::max(1, n)); }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    const int64_t max_pieces = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
    const int pieces = int(std::min<int64_t>(threads(), max_pieces));
    if (pieces <= 1 || t_inside_piece) {
      if (n > 0) fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> one_job(job_mutex_);  // one job at a time if several callers share the pool
    ensure_workers(pieces - 1);
    {
      // No worker may still be inside the previous job while this one is set up.
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return active_ == 0; });
      fn_.store(&fn);
      n_.store(n);
      pieces_.store(pieces);
      next_.store(0);
      done_ = 0;
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(m_);
    // Workers that wake after every piece is taken leave at once; the next job's set-up waits for them.
    done_cv_.wait(lk, [&] { return done_ == pieces; });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

 private:
  Pool() : threads_(default_threads()) {}

  void ensure_workers(int count) {
    while (int(workers_.size()) < count) workers_.emplace_back([this] { worker_loop(); });
  }

  // Takes pieces until none is left; the piece boundaries depend only on n and the piece count.
  void work() {
    t_inside_piece = true;
    for (;;) {
      const int p = next_.fetch_add(1);
      const int pieces = pieces_.load();
      if (p >= pieces) break;
      const int64_t n = n_.load(), begin = n * p / pieces, end = n * (p + 1) / pieces;
      if (end > begin) (*fn_.load())(begin, end);
      std::lock_guard<std::mutex> lk(m_);
      if (++done_ == pieces_) done_cv_.notify_all();
    }
    t_inside_piece = false;
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        ++active_;
      }
      work();
      std::lock_guard<std::mutex> lk(m_);
      --active_;
      done_cv_.notify_all();
    }
  }

  std::atomic<int> threads_;
  std::mutex job_mutex_, m_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  // Atomics because a worker still leaving the previous job may read them while the next job is set up.
  std::atomic<const std::function<void(int64_t, int64_t)>*> fn_{nullptr};
  std::atomic<int64_t> n_{0};
  std::atomic<int> pieces_{0};
  int done_ = 0;    // pieces finished in the current job
  int active_ = 0;  // workers inside work()
  std::atomic<int> next_{0};
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace

int cpu_threads() { return Pool::get().threads(); }
void set_cpu_threads(int n) { Pool::get().set_threads(n); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  Pool::get().run(n, grain, fn);
}

}  // namespace dg
