// The weight average: its warm-up and decay, the swap that sampling uses, and its checkpoint state.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/weight_average.h"
#include "runtime/error.h"

namespace dg {
namespace {

struct Fixture {
  Context ctx{Device::CPU};
  ParamStore store;
  Fixture() {
    store.add("w", {3}, Init::Zeros);
    store.finalize(ctx, 1);
  }
  void set(std::vector<float> v) { copy_to_device(ctx, store.params().raw(), v.data(), v.size() * sizeof(float)); }
  std::vector<float> get() { return store.params().to_host(ctx); }
};

TEST(WeightAverage, FollowsTheWarmUpThenTheDecay) {
  Fixture f;
  WeightAverage avg(f.ctx, f.store, 0.9f, "net/ema");
  std::vector<double> expect(3, 0.0);  // the average starts at the initial weights (0)
  for (int step = 1; step <= 40; ++step) {
    f.store.set_adam_steps(step);
    const std::vector<double> w = {double(step), 1.0, -2.0};
    f.set({float(w[0]), float(w[1]), float(w[2])});
    avg.update(f.ctx);
    const double d = std::min(0.9, (1.0 + step) / (10.0 + step));  // 0.2 at step 1, 0.9 from step 80 on
    for (int i = 0; i < 3; ++i) expect[size_t(i)] = d * expect[size_t(i)] + (1.0 - d) * w[size_t(i)];
  }
  WeightAverage::Use use(f.ctx, &avg);
  const std::vector<float> a = f.get();
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(a[size_t(i)], expect[size_t(i)], 1e-5 * std::abs(expect[size_t(i)]));
  EXPECT_LT(a[0], 40.0f - 3.0f);  // it lags the rising weight
  EXPECT_GT(a[1], 0.99f);         // and has nearly reached the constant ones
}

TEST(WeightAverage, UseSwapsInTheAverageAndRestoresTheWeights) {
  Fixture f;
  f.set({1, 2, 3});
  WeightAverage avg(f.ctx, f.store, 0.5f, "net/ema");
  f.set({5, 6, 7});
  {
    WeightAverage::Use use(f.ctx, &avg);
    EXPECT_EQ(f.get(), (std::vector<float>{1, 2, 3}));
  }
  EXPECT_EQ(f.get(), (std::vector<float>{5, 6, 7}));
  {
    WeightAverage::Use none(f.ctx, nullptr);
    EXPECT_EQ(f.get(), (std::vector<float>{5, 6, 7}));
  }
}

TEST(WeightAverage, StateRoundTripsAndNamesWhatIsMissing) {
  Fixture f;
  f.set({1, 2, 3});
  WeightAverage saved(f.ctx, f.store, 0.5f, "gen/ema");
  const HostTensor state = saved.state(f.ctx);
  EXPECT_EQ(state.name, "gen/ema");
  f.set({0, 0, 0});
  WeightAverage loaded(f.ctx, f.store, 0.5f, "gen/ema");
  loaded.load_state(f.ctx, {state});
  {
    WeightAverage::Use use(f.ctx, &loaded);
    EXPECT_EQ(f.get(), (std::vector<float>{1, 2, 3}));
  }
  try {
    loaded.load_state(f.ctx, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("state/gen/ema"), std::string::npos) << e.what();
  }
  HostTensor wrong = state;
  wrong.data.pop_back();
  EXPECT_THROW(loaded.load_state(f.ctx, {wrong}), Error);
  EXPECT_THROW(WeightAverage(f.ctx, f.store, 1.0f, "x"), Error);
}

}  // namespace
}  // namespace dg
