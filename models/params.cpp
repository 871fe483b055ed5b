// Parameter slab allocation, deterministic initialisation and the optimizer step.
#include "models/params.h"

#include <cmath>

#include "kernels/adam.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"
#include "runtime/philox.h"

namespace dg {

int ParamStore::add(const std::string& name, Shape shape, Init init, int64_t fan_in) {
  DG_REQUIRE(!params_.defined(), "ParamStore::add(", name, ") after finalize");
  for (const auto& s : specs_) DG_REQUIRE(s.name != name, "parameter name registered twice: ", name);
  ParamSpec spec{name, std::move(shape), init, fan_in, 0};
  // Each tensor starts on a 64-float boundary so kernels see aligned rows.
  spec.offset = (count_ + 63) / 64 * 64;
  count_ = spec.offset + numel(spec.shape);
  specs_.push_back(std::move(spec));
  return int(specs_.size()) - 1;
}

void ParamStore::finalize(Context& ctx, uint64_t seed) {
  std::vector<float> host(size_t(count_), 0.0f);
  for (size_t t = 0; t < specs_.size(); ++t) {
    const ParamSpec& s = specs_[t];
    float* p = host.data() + s.offset;
    const int64_t n = numel(s.shape);
    for (int64_t i = 0; i < n; ++i) {
      switch (s.init) {
        case Init::Zeros: p[i] = 0.0f; break;
        case Init::Ones: p[i] = 1.0f; break;
        case Init::UniformFanIn: {
          const float bound = 1.0f / std::sqrt(float(s.fan_in));
          p[i] = (2.0f * philox_uniform(seed, kPurposeInit, uint64_t(i), uint32_t(t)) - 1.0f) * bound;
          break;
        }
        case Init::Normal002: p[i] = 0.02f * philox_normal(seed, kPurposeInit, uint64_t(i), uint32_t(t)); break;
      }
    }
  }
  params_ = Tensor::from_host(ctx, {count_}, host.data());
  grads_ = Tensor::zeros(ctx, {count_});
  m_ = Tensor::zeros(ctx, {count_});
  v_ = Tensor::zeros(ctx, {count_});
  adam_steps_ = 0;
}

void ParamStore::zero_grad(Context& ctx) { fill_zero(ctx, grads_.raw(), grads_.bytes()); }

void ParamStore::adam_step(Context& ctx, const AdamConfig& cfg) {
  NvtxRange range("optimizer");
  ++adam_steps_;
  dg::adam_step(ctx, params_.f32(), grads_.f32(), m_.f32(), v_.f32(), count_, cfg, adam_steps_);
}

}  // namespace dg
