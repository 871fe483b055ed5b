// CPU reference of the layout changes (kernels/layout.h): the shared bodies in plain loops.
#include "kernels/layout.h"

#include "kernels/layout_body.h"
#include "runtime/parallel.h"

namespace dg::cpu {

void channels_last(Context&, const float* x, float* y, int B, int C, int S) {
  const ChannelsLastBody body{x, y, C, S};
  parallel_for(int64_t(B) * C * S, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

void channels_first(Context&, const float* y, float* x, int B, int C, int S) {
  const ChannelsFirstBody body{y, x, C, S};
  parallel_for(int64_t(B) * C * S, kElementwiseGrain, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

}  // namespace dg::cpu
