// NVTX ranges (RAII) for Nsight Systems: `model/layer/forward`, `optimizer`, `data`, `sample/step`.
// Compiled away without the CUDA backend; NVTX v3 is header-only and costs nothing without a tool attached.
#pragma once
#include <string>

#if DIGITGEN_HAVE_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace dg {

class NvtxRange {
 public:
#if DIGITGEN_HAVE_CUDA
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  explicit NvtxRange(const std::string& name) { nvtxRangePushA(name.c_str()); }
  ~NvtxRange() { nvtxRangePop(); }
#else
  explicit NvtxRange(const char*) {}
  explicit NvtxRange(const std::string&) {}
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// cudaProfilerStart/Stop around the --profile-steps window (no-ops on the CPU backend).
void profiler_start();
void profiler_stop();

}  // namespace dg
