// Device choice and the CPU side of the context; CUDA parts are in context_cuda.cu.
#include "runtime/context.h"

#include <cstring>

#include "runtime/error.h"
#include "runtime/nvtx.h"

namespace dg {

const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

Device choose_device(const std::string& flag, std::string* why) {
  if (flag == "cpu") {
    if (why) *why = "cpu (asked for with --device cpu)";
    return Device::CPU;
  }
  DeviceProbe probe = probe_cuda();
  if (flag == "cuda") {
    DG_REQUIRE(probe.usable, "--device cuda: no usable device: ", probe.reason);
    if (why) *why = "cuda (" + probe.reason + ")";
    return Device::CUDA;
  }
  DG_REQUIRE(flag == "auto", "--device: expected auto, cuda or cpu, got '", flag, "'");
  if (probe.usable) {
    if (why) *why = "cuda (auto: " + probe.reason + ")";
    return Device::CUDA;
  }
  if (why) *why = "cpu (auto: no usable device: " + probe.reason + ")";
  return Device::CPU;
}

#if !DIGITGEN_HAVE_CUDA
struct CudaHandles {};
DeviceProbe probe_cuda() { return {false, "digitgen was built without the CUDA backend"}; }
std::unique_ptr<RawAllocator> make_cuda_allocator() { fail("digitgen was built without the CUDA backend"); }

Context::Context(Device device, bool sync_debug) : device_(device), sync_debug_(sync_debug) {
  DG_REQUIRE(device == Device::CPU, "digitgen was built without the CUDA backend");
  pool_ = std::make_unique<MemoryPool>(make_host_allocator());
}
Context::Context(Device device, std::unique_ptr<RawAllocator> raw) : device_(device) {
  DG_REQUIRE(device == Device::CPU, "digitgen was built without the CUDA backend");
  pool_ = std::make_unique<MemoryPool>(std::move(raw));
}
Context::~Context() = default;
void Context::synchronize() {}
void Context::set_tf32(bool) {}
void copy_to_device(Context&, void* dst, const void* src, size_t n) { std::memcpy(dst, src, n); }
void copy_to_host(Context&, void* dst, const void* src, size_t n) { std::memcpy(dst, src, n); }
void copy_on_device(Context&, void* dst, const void* src, size_t n) { std::memmove(dst, src, n); }
void fill_zero(Context&, void* dst, size_t n) { std::memset(dst, 0, n); }
void profiler_start() {}
void profiler_stop() {}
#endif

}  // namespace dg
