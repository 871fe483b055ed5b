// Check macros for CUDA, cuBLAS and cuDNN calls (each throws dg::Error naming file, line and statement),
// the after-launch check, and access to the context's CUDA handles. Only for the CUDA backend.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "runtime/context.h"
#include "runtime/error.h"

namespace dg {

struct CudaHandles {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* cublas_workspace = nullptr;  // set once, so cuBLAS never allocates during graph capture
  size_t cublas_workspace_bytes = 0;
  CudaHandles() = default;
  CudaHandles(const CudaHandles&) = delete;
  CudaHandles& operator=(const CudaHandles&) = delete;
  // Releases whatever was created, also when initialisation failed halfway.
  ~CudaHandles();
};

inline cudaStream_t stream_of(const Context& ctx) { return ctx.cuda()->stream; }
inline cublasHandle_t cublas_of(const Context& ctx) { return ctx.cuda()->cublas; }
inline cudnnHandle_t cudnn_of(const Context& ctx) { return ctx.cuda()->cudnn; }

const char* cublas_status_name(cublasStatus_t s);
// Called after every kernel launch: reports launch errors, and with --sync-debug also execution errors.
void check_launch(const Context& ctx, const char* kernel, const char* file, int line);

}  // namespace dg

#define DG_CUDA_CHECK(stmt)                                                                      \
  do {                                                                                           \
    cudaError_t dg_err_ = (stmt);                                                                \
    if (dg_err_ != cudaSuccess)                                                                  \
      ::dg::fail("CUDA error ", cudaGetErrorName(dg_err_), " (", cudaGetErrorString(dg_err_),    \
                 ") at ", __FILE__, ":", __LINE__, " in ", #stmt);                               \
  } while (0)

#define DG_CUBLAS_CHECK(stmt)                                                                    \
  do {                                                                                           \
    cublasStatus_t dg_st_ = (stmt);                                                              \
    if (dg_st_ != CUBLAS_STATUS_SUCCESS)                                                         \
      ::dg::fail("cuBLAS error ", ::dg::cublas_status_name(dg_st_), " at ", __FILE__, ":",       \
                 __LINE__, " in ", #stmt);                                                       \
  } while (0)

#define DG_CUDNN_CHECK(stmt)                                                                     \
  do {                                                                                           \
    cudnnStatus_t dg_st_ = (stmt);                                                               \
    if (dg_st_ != CUDNN_STATUS_SUCCESS)                                                          \
      ::dg::fail("cuDNN error ", cudnnGetErrorString(dg_st_), " at ", __FILE__, ":", __LINE__,   \
                 " in ", #stmt);                                                                 \
  } while (0)

// Use right after a <<<...>>> launch: DG_LAUNCH_CHECK(ctx, "relu_forward");
#define DG_LAUNCH_CHECK(ctx, name) ::dg::check_launch((ctx), (name), __FILE__, __LINE__)
