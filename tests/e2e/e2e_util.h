// Shared helpers of the end-to-end tests: the MNIST folder from $DIGITGEN_DATA (missing data fails, with the
// remedy, rather than skipping), temporary run folders, and quiet CPU training runs.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "models/trainer.h"

namespace dg::e2e {

// The MNIST folder, or "" with `why` saying what is missing and how to get it.
inline std::string mnist_dir(std::string* why) {
  // $DIGITGEN_DATA (ctest sets it), else the source tree's data/mnist, where tools/fetch_mnist.sh puts it.
  const char* env = std::getenv("DIGITGEN_DATA");
  const std::string dir = env && *env ? std::string(env) : std::string(DIGITGEN_SOURCE_DIR) + "/data/mnist";
  namespace fs = std::filesystem;
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                        "t10k-labels-idx1-ubyte"}) {
    const fs::path p = fs::path(dir) / f;
    if (!fs::exists(p) && !fs::exists(p.string() + ".gz")) {
      *why = "MNIST file " + p.string() + " (or .gz) is missing: run tools/fetch_mnist.sh " + dir + " to download it";
      return "";
    }
  }
  return dir;
}

// End-to-end tests need real data: fail (never skip) when it is missing.
#define DG_REQUIRE_MNIST(var)                     \
  std::string var;                                \
  do {                                            \
    std::string dg_why_;                          \
    var = ::dg::e2e::mnist_dir(&dg_why_);         \
    if (var.empty()) FAIL() << dg_why_;           \
  } while (0)

// A folder under the system temp folder, removed (with its contents) on destruction.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           ("digitgen-e2e-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// Runs train_model quietly on the CPU and prints the wall time and final test metrics (bounds are judged on them).
inline TrainResult run_training(TrainOptions o) {
  o.device = "cpu";
  o.quiet = true;
  const auto t0 = std::chrono::steady_clock::now();
  TrainResult r = train_model(o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string m;
  for (const auto& kv : r.final_test) m += " " + kv.first + "=" + std::to_string(kv.second);
  std::printf("[ e2e      ] %s: %lld steps in %.1f s; test%s\n", o.resume ? "resume" : o.kind.c_str(),
              (long long)r.steps, s, m.c_str());
  return r;
}

struct CliResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// The resume check's two runs of `o` (all of its epochs): one straight into dir/straight, one stopped after its
// first epoch into dir/resumed and resumed there to the end. Returns {straight, resumed}.
inline std::pair<TrainResult, TrainResult> straight_and_resumed(const TrainOptions& o, const std::filesystem::path& dir) {
  TrainOptions straight = o;
  straight.out = (dir / "straight").string();
  const TrainResult a = run_training(straight);
  TrainOptions first = o;
  first.stop_after_epochs = 1;
  first.out = (dir / "resumed").string();
  run_training(first);
  TrainOptions resume;
  resume.data_dir = o.data_dir;
  resume.out = first.out;
  resume.resume = true;
  resume.test_images = o.test_images;
  return {a, run_training(resume)};
}

// The checks that two loaded runs hold the same training state bit for bit: every parameter store's weights, Adam
// moments and step count, and the extra state.
inline void expect_same_training_state(Context& ctx, Model& a, Model& b) {
  auto sa = a.param_stores(), sb = b.param_stores();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].second->params().to_host(ctx), sb[i].second->params().to_host(ctx)) << sa[i].first;
    EXPECT_EQ(sa[i].second->adam_m().to_host(ctx), sb[i].second->adam_m().to_host(ctx)) << sa[i].first;
    EXPECT_EQ(sa[i].second->adam_v().to_host(ctx), sb[i].second->adam_v().to_host(ctx)) << sa[i].first;
    EXPECT_EQ(sa[i].second->adam_steps(), sb[i].second->adam_steps()) << sa[i].first;
  }
  const std::vector<HostTensor> xa = a.extra_state(ctx), xb = b.extra_state(ctx);
  ASSERT_EQ(xa.size(), xb.size());
  for (size_t i = 0; i < xa.size(); ++i) EXPECT_EQ(xa[i].data, xb[i].data) << xa[i].name;
}

// Runs the digitgen binary with `args` (a shell command line) and collects its output and exit status.
inline CliResult run_cli(const std::string& args) {
  CliResult r;
  const std::string cmd = std::string(DIGITGEN_CLI) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, got);
  const int w = pclose(p);
  r.status = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
  return r;
}

}  // namespace dg::e2e
