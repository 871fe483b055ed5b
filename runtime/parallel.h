// CPU loop parallelism for the CPU reference kernels: one process-wide pool of worker threads that splits an
// index range into contiguous pieces. Only loops whose iterations are independent use it (elementwise work, per-image
// im2col / col2im, blocks of a GEMM), so results never depend on the thread count. OpenBLAS runs single-threaded
// inside the pieces (kernels/cpu/gemm.cpp), so the pool is the only source of CPU threads.
#pragma once
#include <cstdint>
#include <functional>

namespace dg {

// Threads the pool uses (the caller included): $DIGITGEN_CPU_THREADS, else the hardware's core count.
int cpu_threads();
// Sets the thread count for later loops (1 runs everything on the caller); the benchmark's --threads uses it.
void set_cpu_threads(int n);

// Calls fn(begin, end) on disjoint pieces covering [0, n), each of at least `grain` indices (one piece on the
// caller when n < 2 * grain). Returns when all pieces are done. Called from inside a piece it runs serially.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Grain for plain elementwise loops: below this many floats, waking a thread costs more than it saves.
constexpr int64_t kElementwiseGrain = 32768;

}  // namespace dg
