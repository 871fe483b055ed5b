// CUDA graph capture and replay on the context's stream (see cuda_graph.h).
#include "runtime/cuda_check.h"
#include "runtime/cuda_graph.h"
#include "runtime/error.h"

namespace dg {

struct CudaGraph::Impl {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ~Impl() {
    if (exec) cudaGraphExecDestroy(exec);
    if (graph) cudaGraphDestroy(graph);
  }
};

bool cuda_graphs_supported(const Context& ctx) { return ctx.on_gpu(); }

CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}
CudaGraph::~CudaGraph() = default;

void CudaGraph::capture(Context& ctx, const std::function<void()>& body) {
  DG_REQUIRE(ctx.on_gpu(), "CUDA graph capture needs a CUDA context, not the CPU backend");
  DG_REQUIRE(!ctx.sync_debug(), "--sync-debug synchronizes after every launch, which a CUDA graph capture forbids; "
             "sample without the CUDA graph (--no-cuda-graph) to debug");
  DG_REQUIRE(!impl_->exec, "internal: CudaGraph::capture called twice");
  cudaStream_t s = stream_of(ctx);
  DG_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  try {
    body();
  } catch (...) {
    cudaGraph_t broken = nullptr;
    cudaStreamEndCapture(s, &broken);
    if (broken) cudaGraphDestroy(broken);
    throw;
  }
  DG_CUDA_CHECK(cudaStreamEndCapture(s, &impl_->graph));
  DG_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, impl_->graph, 0));
}

void CudaGraph::replay(Context& ctx) {
  DG_REQUIRE(impl_->exec, "internal: CudaGraph::replay before capture");
  DG_CUDA_CHECK(cudaGraphLaunch(impl_->exec, stream_of(ctx)));
  if (ctx.sync_debug()) DG_CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
}

bool CudaGraph::captured() const { return impl_->exec != nullptr; }

}  // namespace dg
