// CUDA convolutions through cuDNN: descriptors, fixed deterministic algorithms, workspaces from the context pool.
// This file is the project's whole cuDNN surface.
//
// Why the legacy convolution API: cuDNN 9.19 marks cudnnConvolutionForward / BackwardData / BackwardFilter as
// deprecated (the compiler only warns when CUDNN_WARN_DEPRECATED is defined; we do not define it). We use them
// knowingly: they let us name deterministic algorithms directly (IMPLICIT_PRECOMP_GEMM forward, ALGO_1 for both
// backward passes, all documented as deterministic, so training runs repeat bit for bit) and need no graph
// build/finalize per shape. If the legacy API goes away, the move to the graph API is confined to this file.
// Math is plain FP32 with no TF32, so results track the CPU reference closely. That takes CUDNN_FMA_MATH:
// CUDNN_DEFAULT_MATH lets cuDNN run FP32 convolutions as TF32 on Ampere and newer (our H100/H200 target).
#include "kernels/conv.h"
#include "kernels/conv_check.h"
#include "runtime/cuda_check.h"

namespace dg::cuda {
namespace {

constexpr cudnnConvolutionFwdAlgo_t kFwdAlgo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
constexpr cudnnConvolutionBwdDataAlgo_t kBwdDataAlgo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
constexpr cudnnConvolutionBwdFilterAlgo_t kBwdFilterAlgo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;

// RAII owners of the descriptors, so an error thrown mid-call does not leak them.
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(int n, int c, int h, int w) {
    DG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
    DG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc(int k, int c, int h, int w) {
    DG_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
    DG_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, h, w));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc(int pad, int stride) {
    DG_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    // Cross-correlation, as in PyTorch and in the CPU reference (no kernel flip).
    DG_CUDNN_CHECK(
        cudnnSetConvolution2dDescriptor(d, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DG_CUDNN_CHECK(cudnnSetConvolutionMathType(d, CUDNN_FMA_MATH));  // no TF32, see the top of the file
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// Everything one cuDNN call needs about a geometry: input x, output y, weights w and the convolution.
struct Descs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  explicit Descs(const ConvGeom& g)
      : x(g.B, g.Cin, g.H, g.W), y(g.B, g.Cout, g.Ho(), g.Wo()), w(g.Cout, g.Cin, g.K, g.K), conv(g.pad, g.stride) {}
};

// The pool is stream-ordered on the context's single stream, so the workspace may go back to the cache as soon
// as the call is queued: later users of the same memory are queued behind it.
Block workspace(Context& ctx, size_t bytes) { return bytes ? ctx.pool().allocate(bytes) : Block(); }

void after_call(Context& ctx) {
  if (ctx.sync_debug()) DG_CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
}

}  // namespace

void conv2d_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, float* y) {
  check_conv_geom(g);
  if (g.B == 0) return;
  const Descs d(g);
  size_t bytes = 0;
  DG_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cudnn_of(ctx), d.x.d, d.w.d, d.conv.d, d.y.d, kFwdAlgo, &bytes));
  Block ws = workspace(ctx, bytes);
  const float alpha = 1.0f, beta = 0.0f;
  DG_CUDNN_CHECK(cudnnConvolutionForward(cudnn_of(ctx), &alpha, d.x.d, x, d.w.d, w, d.conv.d, kFwdAlgo, ws.get(), bytes,
                                         &beta, d.y.d, y));
  after_call(ctx);
}

void conv2d_backward_data(Context& ctx, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  check_conv_geom(g);
  if (g.B == 0) return;
  const Descs d(g);
  size_t bytes = 0;
  DG_CUDNN_CHECK(
      cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn_of(ctx), d.w.d, d.y.d, d.conv.d, d.x.d, kBwdDataAlgo, &bytes));
  Block ws = workspace(ctx, bytes);
  const float alpha = 1.0f, beta = 0.0f;
  DG_CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn_of(ctx), &alpha, d.w.d, w, d.y.d, dy, d.conv.d, kBwdDataAlgo,
                                              ws.get(), bytes, &beta, d.x.d, dx));
  after_call(ctx);
}

void conv2d_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw, Grad mode) {
  check_conv_geom(g);
  if (g.B == 0) {
    // No images: the gradient is zero; Accumulate leaves dw as it is.
    if (mode == Grad::Overwrite)
      DG_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(float) * size_t(g.Cout) * g.Cin * g.K * g.K, stream_of(ctx)));
    return;
  }
  const Descs d(g);
  size_t bytes = 0;
  DG_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn_of(ctx), d.x.d, d.y.d, d.conv.d, d.w.d,
                                                                kBwdFilterAlgo, &bytes));
  Block ws = workspace(ctx, bytes);
  const float alpha = 1.0f, beta = mode == Grad::Accumulate ? 1.0f : 0.0f;
  DG_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn_of(ctx), &alpha, d.x.d, x, d.y.d, dy, d.conv.d, kBwdFilterAlgo,
                                                ws.get(), bytes, &beta, d.w.d, dw));
  after_call(ctx);
}

// Transposed convolution = adjoint of the forward convolution with the same geometry (see conv.h).
void conv_transpose2d_forward(Context& ctx, const ConvGeom& g, const float* x, const float* w, float* y) {
  cuda::conv2d_backward_data(ctx, g, x, w, y);
}

void conv_transpose2d_backward_data(Context& ctx, const ConvGeom& g, const float* dy, const float* w, float* dx) {
  cuda::conv2d_forward(ctx, g, dy, w, dx);
}

void conv_transpose2d_backward_filter(Context& ctx, const ConvGeom& g, const float* x, const float* dy, float* dw,
                                      Grad mode) {
  cuda::conv2d_backward_filter(ctx, g, dy, x, dw, mode);
}

}  // namespace dg::cuda
