// The weight average's update (one axpby over the slab), the swap used while sampling, and its checkpoint state.
#include "models/weight_average.h"

#include <algorithm>

#include "kernels/gather.h"
#include "runtime/error.h"

namespace dg {

WeightAverage::WeightAverage(Context& ctx, ParamStore& store, float decay, std::string name)
    : store_(store), decay_(decay), name_(std::move(name)) {
  DG_REQUIRE(decay >= 0.0f && decay < 1.0f, "--ema-decay: expected a value in [0, 1), got ", decay);
  average_ = Tensor::empty(ctx, {store.count()});
  axpby(ctx, 1.0f, store.params().f32(), 0.0f, average_.f32(), store.count());
}

void WeightAverage::update(Context& ctx) {
  const double n = double(store_.adam_steps());
  const float d = float(std::min<double>(decay_, (1.0 + n) / (10.0 + n)));
  axpby(ctx, 1.0f - d, store_.params().f32(), d, average_.f32(), store_.count());
}

void WeightAverage::swap(Context& ctx) {
  const int64_t n = store_.count();
  Tensor trained = Tensor::empty(ctx, {n});
  axpby(ctx, 1.0f, store_.params().f32(), 0.0f, trained.f32(), n);
  axpby(ctx, 1.0f, average_.f32(), 0.0f, store_.params().f32(), n);
  average_ = std::move(trained);
}

WeightAverage::Use::Use(Context& ctx, WeightAverage* avg) : ctx_(ctx), avg_(avg) {
  if (avg_) avg_->swap(ctx_);
}

WeightAverage::Use::~Use() {
  if (avg_) avg_->swap(ctx_);
}

HostTensor WeightAverage::state(Context& ctx) const { return {name_, {store_.count()}, average_.to_host(ctx)}; }

void WeightAverage::load_state(Context& ctx, const std::vector<HostTensor>& tensors) {
  load_state_tensor(ctx, tensors, name_, average_, "the weight average used for sampling");
}

}  // namespace dg
