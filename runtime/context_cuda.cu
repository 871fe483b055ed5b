// CUDA side of the context: device probing, stream and library handles, device memory allocator,
// copies, and the after-launch check used by every kernel launcher.
#include <cstring>
#include <sstream>

#include "runtime/cuda_check.h"

namespace dg {

DeviceProbe probe_cuda() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later probes start clean
    return {false, std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err)};
  }
  if (count == 0) return {false, "CUDA reports no devices"};
  cudaDeviceProp prop{};
  err = cudaGetDeviceProperties(&prop, 0);
  if (err != cudaSuccess) return {false, std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(err)};
  std::ostringstream os;
  os << prop.name << ", compute capability " << prop.major << "." << prop.minor << ", "
     << (prop.totalGlobalMem >> 20) << " MiB";
  return {true, os.str()};
}

namespace {
class CudaAllocator : public RawAllocator {
 public:
  void* alloc(size_t bytes) override {
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();  // out-of-memory is reported by the pool, not left sticky
      return nullptr;
    }
    return p;
  }
  void free(void* p) override { cudaFree(p); }
  void mem_info(size_t* free_bytes, size_t* total_bytes) override {
    if (cudaMemGetInfo(free_bytes, total_bytes) != cudaSuccess) *free_bytes = *total_bytes = 0;
  }
  std::string name() const override { return "CUDA device"; }
};
}  // namespace

std::unique_ptr<RawAllocator> make_cuda_allocator() { return std::make_unique<CudaAllocator>(); }

static void init_cuda(std::unique_ptr<CudaHandles>& h) {
  h = std::make_unique<CudaHandles>();
  DG_CUDA_CHECK(cudaStreamCreateWithFlags(&h->stream, cudaStreamNonBlocking));
  DG_CUBLAS_CHECK(cublasCreate(&h->cublas));
  DG_CUBLAS_CHECK(cublasSetStream(h->cublas, h->stream));
  // A fixed workspace: cuBLAS then never allocates inside a CUDA graph capture.
  h->cublas_workspace_bytes = size_t(32) << 20;
  DG_CUDA_CHECK(cudaMalloc(&h->cublas_workspace, h->cublas_workspace_bytes));
  DG_CUBLAS_CHECK(cublasSetWorkspace(h->cublas, h->cublas_workspace, h->cublas_workspace_bytes));
  DG_CUBLAS_CHECK(cublasSetMathMode(h->cublas, CUBLAS_PEDANTIC_MATH));
  DG_CUDNN_CHECK(cudnnCreate(&h->cudnn));
  DG_CUDNN_CHECK(cudnnSetStream(h->cudnn, h->stream));
}

Context::Context(Device device, bool sync_debug) : device_(device), sync_debug_(sync_debug) {
  if (device == Device::CUDA) {
    DeviceProbe p = probe_cuda();
    DG_REQUIRE(p.usable, "no usable device: ", p.reason);
    init_cuda(cuda_);
    pool_ = std::make_unique<MemoryPool>(make_cuda_allocator());
  } else {
    pool_ = std::make_unique<MemoryPool>(make_host_allocator());
  }
}

Context::Context(Device device, std::unique_ptr<RawAllocator> raw) : device_(device) {
  if (device == Device::CUDA) init_cuda(cuda_);
  pool_ = std::make_unique<MemoryPool>(std::move(raw));
}

CudaHandles::~CudaHandles() {
  if (cudnn) cudnnDestroy(cudnn);
  if (cublas) cublasDestroy(cublas);
  if (cublas_workspace) cudaFree(cublas_workspace);
  if (stream) cudaStreamDestroy(stream);
}

Context::~Context() {
  if (cuda_) cudaStreamSynchronize(cuda_->stream);
  pool_.reset();  // return cached device memory before the handles go
  cuda_.reset();
}

void Context::synchronize() {
  if (cuda_) DG_CUDA_CHECK(cudaStreamSynchronize(cuda_->stream));
}

void Context::set_tf32(bool v) {
  if (cuda_) DG_CUBLAS_CHECK(cublasSetMathMode(cuda_->cublas, v ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
}

void copy_to_device(Context& ctx, void* dst, const void* src, size_t n) {
  if (!ctx.on_gpu()) { std::memcpy(dst, src, n); return; }
  DG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream_of(ctx)));
  DG_CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
}
void copy_to_host(Context& ctx, void* dst, const void* src, size_t n) {
  if (!ctx.on_gpu()) { std::memcpy(dst, src, n); return; }
  DG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream_of(ctx)));
  DG_CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
}
void copy_on_device(Context& ctx, void* dst, const void* src, size_t n) {
  if (!ctx.on_gpu()) { std::memmove(dst, src, n); return; }
  DG_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream_of(ctx)));
}
void fill_zero(Context& ctx, void* dst, size_t n) {
  if (!ctx.on_gpu()) { std::memset(dst, 0, n); return; }
  DG_CUDA_CHECK(cudaMemsetAsync(dst, 0, n, stream_of(ctx)));
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

void check_launch(const Context& ctx, const char* kernel, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && ctx.sync_debug()) err = cudaStreamSynchronize(stream_of(ctx));
  if (err != cudaSuccess)
    fail("CUDA kernel ", kernel, " failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ") at ", file,
         ":", line);
}

}  // namespace dg

#include <cuda_profiler_api.h>
namespace dg {
void profiler_start() { cudaProfilerStart(); }
void profiler_stop() { cudaProfilerStop(); }
}  // namespace dg
