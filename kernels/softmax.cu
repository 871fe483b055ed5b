// CUDA launchers for the row softmax: one thread per row running the shared body (rows are short: 49 positions for
// the 7x7 attention), so each row is summed in the same order as on the CPU and results repeat bit for bit.
#include "kernels/cuda_launch.cuh"
#include "kernels/softmax.h"
#include "kernels/softmax_body.h"

namespace dg::cuda {

void softmax_rows_forward(Context& ctx, const float* x, float* y, int64_t R, int D, float scale) {
  cuda_detail::for_each_index(ctx, "softmax_rows_forward", R, SoftmaxRowsForwardBody{x, y, D, scale});
}

void softmax_rows_backward(Context& ctx, const float* y, const float* dy, float* dx, int64_t R, int D, float scale) {
  cuda_detail::for_each_index(ctx, "softmax_rows_backward", R, SoftmaxRowsBackwardBody{y, dy, dx, D, scale});
}

}  // namespace dg::cuda
