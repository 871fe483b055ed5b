// The device context: which backend runs the ops, the memory pool, and (on the GPU) the stream,
// cuBLAS and cuDNN handles. Every op takes a Context& first.
#pragma once
#include <memory>
#include <string>

#include "runtime/memory_pool.h"

namespace dg {

enum class Device { CPU, CUDA };
const char* device_name(Device d);

// Result of probing for a usable CUDA device. `reason` says why not, or which device was found.
struct DeviceProbe {
  bool usable = false;
  std::string reason;
};
// Any error from CUDA initialisation (no driver, driver too old, no device) means "not usable".
DeviceProbe probe_cuda();

// Parses --device auto|cuda|cpu. auto picks CUDA when usable; `why` gets a one-line explanation.
Device choose_device(const std::string& flag, std::string* why);

struct CudaHandles;  // stream, cuBLAS, cuDNN, cuBLAS workspace (runtime/context_cuda.cu)

class Context {
 public:
  explicit Context(Device device, bool sync_debug = false);
  // A context whose pool draws from `raw` (tests use a capped allocator).
  Context(Device device, std::unique_ptr<RawAllocator> raw);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Device device() const { return device_; }
  bool on_gpu() const { return device_ == Device::CUDA; }
  MemoryPool& pool() { return *pool_; }
  // With sync_debug, every launch is followed by a synchronize and a check, so the failing kernel is named.
  bool sync_debug() const { return sync_debug_; }
  void set_sync_debug(bool v) { sync_debug_ = v; }
  // Opt-in TF32 tensor-core math in cuBLAS (off by default: results match the CPU reference more closely).
  void set_tf32(bool v);
  // Waits for all work queued on this context (no-op on the CPU).
  void synchronize();
  CudaHandles* cuda() const { return cuda_.get(); }

 private:
  Device device_;
  bool sync_debug_ = false;
  std::unique_ptr<MemoryPool> pool_;
  std::unique_ptr<CudaHandles> cuda_;
};

// Copies between host memory and memory of the context's device (plain memcpy on the CPU).
void copy_to_device(Context& ctx, void* dst_dev, const void* src_host, size_t bytes);
void copy_to_host(Context& ctx, void* dst_host, const void* src_dev, size_t bytes);
void copy_on_device(Context& ctx, void* dst, const void* src, size_t bytes);
void fill_zero(Context& ctx, void* dst, size_t bytes);

}  // namespace dg
