// CUDA graphs without the CUDA backend: every entry point says that graphs need it (the .cu file has the real ones).
#include "runtime/cuda_graph.h"

#include "runtime/error.h"

#if !DIGITGEN_HAVE_CUDA
namespace dg {

struct CudaGraph::Impl {};
bool cuda_graphs_supported(const Context&) { return false; }
CudaGraph::CudaGraph() = default;
CudaGraph::~CudaGraph() = default;
void CudaGraph::capture(Context&, const std::function<void()>&) {
  fail("CUDA graphs need the CUDA backend; this build has only the CPU backend");
}
void CudaGraph::replay(Context&) { fail("CUDA graphs need the CUDA backend; this build has only the CPU backend"); }
bool CudaGraph::captured() const { return false; }

}  // namespace dg
#endif
