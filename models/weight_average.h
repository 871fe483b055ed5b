// An exponential moving average of a parameter store's weights, for sampling from the averaged weights (the GAN's
// generator and the diffusion model): the average's update, a scope that swaps it into the store, and its
// checkpoint state.
#pragma once
#include <string>
#include <vector>

#include "models/model.h"
#include "models/params.h"

namespace dg {

class WeightAverage {
 public:
  // Starts the average at the store's current weights. decay in [0, 1); `name` is the checkpoint state's name.
  WeightAverage(Context& ctx, ParamStore& store, float decay, std::string name);

  // average = d * average + (1 - d) * weights, with d = min(decay, (1 + n) / (10 + n)) over the store's Adam
  // steps n, so that the early average does not hold on to the random initial weights. Call after each step.
  void update(Context& ctx);

  // While alive, the store holds the averaged weights; the trained ones are put back after. A null `avg` does
  // nothing (sampling from the trained weights).
  class Use {
   public:
    Use(Context& ctx, WeightAverage* avg);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    Context& ctx_;
    WeightAverage* avg_;
  };

  float decay() const { return decay_; }
  // Checkpoint state: one tensor named `name` with the average.
  HostTensor state(Context& ctx) const;
  // Restores the average from `tensors`; an error names the missing or mis-sized tensor.
  void load_state(Context& ctx, const std::vector<HostTensor>& tensors);

 private:
  void swap(Context& ctx);  // exchanges the store's weights and the average

  ParamStore& store_;
  float decay_;
  std::string name_;
  Tensor average_;  // [store.count()]
};

}  // namespace dg
