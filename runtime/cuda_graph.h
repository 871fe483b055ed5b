// CUDA graphs for the diffusion sampler: capture the work one callable queues on the context's stream once, then
// replay it. Capture uses the relaxed mode, so the memory pool may still reach cudaMalloc on a cache miss (the
// sampler warms the cache with one eager step first). Without the CUDA backend, or on a CPU context, capture is an
// error naming why; callers check cuda_graphs_supported() and take the eager path instead.
#pragma once
#include <functional>
#include <memory>

#include "runtime/context.h"

namespace dg {

// True when this build has the CUDA backend and ctx runs on it.
bool cuda_graphs_supported(const Context& ctx);

class CudaGraph {
 public:
  CudaGraph();
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;
  // Records everything `body` queues on ctx's stream (nothing runs) and instantiates the graph.
  void capture(Context& ctx, const std::function<void()>& body);
  // Queues one replay on ctx's stream.
  void replay(Context& ctx);
  bool captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg
