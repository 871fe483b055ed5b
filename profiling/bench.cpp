// digitgen_bench: training and sampling throughput of every registered model kind on real MNIST, with the
// machine's sgemm rate and (on the CPU) the PyTorch peer of each kind that has one (profiling/peers/, see peer_table())
// run in the same process tree for context.
// Prints one table; a kind that throws becomes an error row, never a crash. Not a test: nothing here asserts times.
#include <cblas.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/gemm.h"
#include "models/model.h"
#include "runtime/context.h"
#include "runtime/dataset.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/parallel.h"

using namespace dg;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

std::string default_data_dir() {
  if (const char* env = std::getenv("DIGITGEN_DATA")) return env;
  return std::string(DIGITGEN_SOURCE_DIR) + "/data/mnist";
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// A "hidden" setting as the CLI writes it ("512,256"), whether stored as a string, a number or a list.
std::string hidden_str(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int>());
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ",") + std::to_string(e.get<int>());
  return s;
}

std::vector<int> parse_batches(const std::string& s) {
  std::vector<int> out;
  for (const auto& item : split_list(s)) {
    int b = 0;
    try {
      size_t used = 0;
      b = std::stoi(item, &used);
      DG_REQUIRE(used == item.size(), "");
    } catch (...) {
      fail("--batch: expected sizes like 128,1024, got '", s, "'");
    }
    DG_REQUIRE(b > 0, "--batch: sizes must be positive, got ", b);
    out.push_back(b);
  }
  DG_REQUIRE(!out.empty(), "--batch: empty list");
  return out;
}

// Runs `step` (one unit of work, queued on ctx) until at least `seconds` have passed, synchronizing only at the
// end of each chunk so that GPU queues stay full; returns (units, seconds).
template <typename F>
std::pair<int64_t, double> time_loop(Context& ctx, double seconds, int64_t min_units, F&& step) {
  int64_t done = 0, chunk = 1;
  const auto t0 = Clock::now();
  for (;;) {
    for (int64_t i = 0; i < chunk; ++i) step(done + i);
    done += chunk;
    ctx.synchronize();
    const double el = since(t0);
    if (el >= seconds && done >= min_units) return {done, el};
    const double per = el / double(done);
    chunk = std::max<int64_t>({1, min_units - done, int64_t((seconds - el) / std::max(per, 1e-9) * 1.05) + 1});
  }
}

// GFLOP/s of one M=N=K=n sgemm on ctx's device (the CPU path is dg::cpu::gemm, i.e. OpenBLAS).
double sgemm_gflops(Context& ctx, int n, double seconds) {
  std::vector<float> h(size_t(n) * n);
  for (size_t i = 0; i < h.size(); ++i) h[i] = float((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  Tensor a = Tensor::from_host(ctx, {n, n}, h.data()), b = Tensor::from_host(ctx, {n, n}, h.data());
  Tensor c = Tensor::zeros(ctx, {n, n});
  auto run = [&](int64_t) {
    if (ctx.on_gpu()) gemm(ctx, Transpose::No, Transpose::No, n, n, n, 1.0f, a.f32(), b.f32(), 0.0f, c.f32());
    else cpu::gemm(ctx, Transpose::No, Transpose::No, n, n, n, 1.0f, a.f32(), b.f32(), 0.0f, c.f32());
  };
  run(0);  // warm-up: thread pool start, cuBLAS heuristics
  ctx.synchronize();
  const auto [reps, el] = time_loop(ctx, seconds, 3, run);
  return 2.0 * double(n) * n * n * double(reps) / el / 1e9;
}

// The CPU convolution paths side by side, timed in the same run: GFLOP/s (useful multiply-adds x 2 per second) of
// each pass of the 3x3 stride-1 layer shapes of the CPU DDPM configuration (channels 16,32,32), on im2col + GEMM
// and on the direct kernels where the CPU has them. The path in force before the call is restored.
void print_conv_layers(int B, double seconds) {
  struct Shape {
    int Cin, H, Cout;
    const char* where;
  };
  const Shape shapes[] = {{16, 28, 16, "28x28 block"},    {32, 28, 16, "28x28 up (concat)"},
                          {32, 14, 32, "14x14 block"},    {64, 14, 32, "14x14 up (concat)"},
                          {32, 7, 32, "7x7 block"},       {64, 7, 32, "7x7 up (concat)"}};
  const cpu::CpuConvPath saved = cpu::cpu_conv_path();
  std::vector<cpu::CpuConvPath> paths = {cpu::CpuConvPath::Gemm};
  if (cpu::direct_conv_supported()) paths.push_back(cpu::CpuConvPath::Direct);
  else std::printf("no AVX-512F on this CPU: the direct kernels cannot run, only im2col + GEMM is timed\n");
  Context ctx(Device::CPU);
  std::printf("\n3x3 stride-1 convolutions, batch %d, %d threads: GFLOP/s per pass\n", B, cpu_threads());
  std::printf("%-18s %4s %3s %4s | %8s %8s %8s | %8s %8s %8s\n", "layer", "Cin", "H", "Cout", "gemm fwd", "dgrad",
              "wgrad", "direct", "dgrad", "wgrad");
  for (const Shape& sh : shapes) {
    const ConvGeom g{B, sh.Cin, sh.H, sh.H, sh.Cout, 3, 1, 1};
    std::vector<float> hx(size_t(B) * g.Cin * g.H * g.W), hw(size_t(g.Cout) * g.Cin * 9);
    for (size_t i = 0; i < hx.size(); ++i) hx[i] = float((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < hw.size(); ++i) hw[i] = float((i * 40503u) % 1000) / 10000.0f - 0.05f;
    std::vector<float> y(size_t(B) * g.Cout * g.H * g.W), dx(hx.size()), dw(hw.size());
    const double flop = 2.0 * B * g.Cout * g.Cin * 9.0 * g.H * g.W;
    std::printf("%-18s %4d %3d %4d", sh.where, sh.Cin, sh.H, sh.Cout);
    for (cpu::CpuConvPath path : paths) {
      cpu::set_cpu_conv_path(path);
      std::printf(" |");
      for (int pass = 0; pass < 3; ++pass) {
        auto run = [&](int64_t) {
          if (pass == 0) cpu::conv2d_forward(ctx, g, hx.data(), hw.data(), y.data());
          else if (pass == 1) cpu::conv2d_backward_data(ctx, g, y.data(), hw.data(), dx.data());
          else cpu::conv2d_backward_filter(ctx, g, hx.data(), y.data(), dw.data(), Grad::Overwrite);
        };
        run(0);
        const auto [reps, el] = time_loop(ctx, seconds, 3, run);
        std::printf(" %8.1f", flop * double(reps) / el / 1e9);
      }
    }
    std::printf("\n");
  }
  cpu::set_cpu_conv_path(saved);
}

// Multiply-adds of the dense layers, as 2*sum(in*out) FLOPs for a forward pass; only meaningful for MLPs (conv
// layers reuse weights across positions), so it is reported only for kinds configured with arch "mlp". Other kinds
// take the count their PyTorch peer makes of the same architecture, when they have one.
double mlp_forward_flops(Model& m) {
  double w = 0;
  for (auto& [prefix, ps] : m.param_stores())
    for (const ParamSpec& s : ps->specs())
      if (s.shape.size() == 2) w += double(numel(s.shape));
  return 2.0 * w;
}

// The PyTorch peers, by model kind. Each script takes --data --batch --seconds --warmup --threads (peer_common.py)
// plus the kind's architecture settings named in `settings`: a setting the kind's config has is passed as
// --name-with-hyphens VALUE (lists as "a,b"; booleans as a bare flag when true), one it lacks keeps the peer's
// default, which mirrors the kind's. `mlp_only`: the peer builds the MLP arch only, so it is skipped for arch conv.
struct PeerSpec {
  const char* kind;
  const char* script;  // under --peer-dir
  std::vector<std::string> settings;
  bool mlp_only;
};

const std::vector<PeerSpec>& peer_table() {
  static const std::vector<PeerSpec> peers = {
      {"vae", "vae_torch.py", {"hidden", "latent"}, true},
      {"cvae", "cvae_torch.py", {"hidden", "latent", "kl_weight"}, true},
      {"gan", "gan_torch.py", {"latent", "channels", "conditional"}, false},
      {"vqvae", "vqvae_torch.py",
       {"channels", "codebook_size", "code_dim", "commitment", "dead_after", "prior_channels", "prior_layers",
        "prior_kernel", "prior_head"},
       false},
      {"ddpm", "ddpm_torch.py", {"channels", "blocks", "attention", "timesteps"}, false},
  };
  return peers;
}

// The peer for a kind configured as `cfg`, or null (none, or none for this arch).
const PeerSpec* find_peer(const std::string& kind, const nlohmann::json& cfg) {
  for (const PeerSpec& p : peer_table())
    if (p.kind == kind) return p.mlp_only && cfg.value("arch", "mlp") != "mlp" ? nullptr : &p;
  return nullptr;
}

// The peer's arguments for the kind's settings, e.g. " --hidden 512,256 --latent 32 --kl-weight 2".
std::string peer_settings(const PeerSpec& p, const nlohmann::json& cfg) {
  std::ostringstream out;
  for (const std::string& key : p.settings) {
    if (!cfg.contains(key)) continue;
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    const nlohmann::json& v = cfg[key];
    if (v.is_boolean()) {
      if (v.get<bool>()) out << " --" << flag;
    } else if (v.is_string() || v.is_array() || v.is_number_integer()) {
      out << " --" << flag << " '" << hidden_str(v) << "'";
    } else {
      out << " --" << flag << " " << v.dump();
    }
  }
  return out.str();
}

struct PeerResult {
  bool ok = false;
  double images_per_s = 0;
  double train_flops = 0;  // per image, as the peer counted them (0 if it did not)
  std::string note;  // error, or threads/blas the peer reported
};

// A PyTorch peer: one subprocess, its last JSON line parsed. stderr passes through (torch warnings stay visible).
PeerResult run_peer(const std::string& python, const std::string& script, const std::string& data,
                    const std::string& settings, int batch, double seconds, int warmup, int threads) {
  PeerResult r;
  std::ostringstream cmd;
  cmd << "'" << python << "' '" << script << "' --data '" << data << "'" << settings << " --batch " << batch
      << " --seconds " << seconds << " --warmup " << warmup << " --threads " << threads;
  std::FILE* p = popen(cmd.str().c_str(), "r");
  if (!p) {
    r.note = "cannot start " + python;
    return r;
  }
  std::string out, last_json;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), int(buf.size()), p)) out += buf.data();
  const int rc = pclose(p);
  std::stringstream ss(out);
  for (std::string line; std::getline(ss, line);)
    if (!line.empty() && line[0] == '{') last_json = line;
  if (rc != 0 || last_json.empty()) {
    r.note = "peer failed (exit " + std::to_string(rc) + "): " + cmd.str();
    return r;
  }
  try {
    const auto j = nlohmann::json::parse(last_json);
    r.images_per_s = j.at("images_per_s").get<double>();
    r.train_flops = j.value("train_flops_per_image", 0.0);
    r.ok = true;
    std::ostringstream n;
    if (j.contains("sample_steps"))  // diffusion peers: one timed DDIM call
      n << "DDIM-" << j.value("sample_steps", 0) << " sampling " << j.at("sample_images_per_s").get<double>()
        << " img/s (" << j.value("sample_n", 0) << " digits, guided); ";
    else if (j.contains("sample_images_per_s"))  // e.g. the VQ-VAE prior's peer
      n << "sampling " << j.at("sample_images_per_s").get<double>() << " img/s; ";
    n << "torch " << j.value("torch", "?") << ", " << j.value("threads", 0) << " intra-op threads, BLAS "
      << j.value("blas", "?") << " (" << j.value("blas_threads", std::string("?")) << " threads), OMP_WAIT_POLICY "
      << j.value("omp_wait_policy", "?");
    r.note = n.str();
  } catch (const std::exception& e) {
    r.note = std::string("peer printed unreadable JSON: ") + e.what();
  }
  return r;
}

// Digits per timed sampling call of a diffusion kind: --diffusion-n, else 8 on the CPU and the batch on a GPU.
int diffusion_call_n(int flag, bool on_gpu, int batch) { return flag > 0 ? flag : (on_gpu ? batch : 8); }

struct Case {
  std::string label;  // what the table shows
  const ModelKind* kind;
  nlohmann::json overrides;
  const PeerSpec* peer;  // the PyTorch peer to compare with, or null
  // Kinds with a learned prior after the autoencoder (the VQ-VAE, whose defaults have "prior_epochs") get a second
  // row that times the prior's training steps (Model::total_epochs(0) puts the model in its prior stage).
  bool prior_stage = false;
  std::string peer_extra;  // more peer arguments: the prior stage's, the diffusion sampling call's size
};

struct Row {
  std::string label;
  int batch = 0;
  std::string error;
  double ms_per_step = 0, train_ips = 0, sample_ips = -1, peak_mib = 0, loss = NAN;
  double fwd_flops = 0;  // per image, 0 when not an MLP
  std::string diffusion;  // diffusion kinds: sampling img/s per sampler (and with / without the CUDA graph)
  PeerResult peer;
  bool peer_ran = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"digitgen_bench: train/sample throughput of the registered model kinds on MNIST"};
  std::string models_flag, batches_flag = "128,1024", device_flag = "auto", data_dir, hidden;
  std::string python = "/usr/bin/python3", peer_dir = std::string(DIGITGEN_SOURCE_DIR) + "/profiling/peers";
  int latent = 0, warmup = 5, threads = 0;
  double seconds = 3.0, sample_seconds = 1.0;
  bool peer_on = false, peer_off = false;
  uint64_t seed = 1;
  app.add_option("--models", models_flag, "comma-separated kinds (default: every registered kind)");
  app.add_option("--batch", batches_flag, "comma-separated batch sizes");
  app.add_option("--device", device_flag, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--data", data_dir, "MNIST folder (default $DIGITGEN_DATA or <source>/data/mnist)");
  app.add_option("--hidden", hidden, "hidden widths for kinds that have the setting, e.g. 400");
  app.add_option("--latent", latent, "latent size for kinds that have the setting");
  app.add_option("--seconds", seconds, "timed training seconds per row (at least)")->check(CLI::PositiveNumber);
  app.add_option("--sample-seconds", sample_seconds, "timed generation seconds per row")->check(CLI::NonNegativeNumber);
  app.add_option("--warmup", warmup, "untimed training steps before timing")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Philox seed");
  app.add_option("--threads", threads, "CPU threads (worker pool: GEMM blocks and elementwise loops) for us and the peer (default: all cores)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--peer", peer_on, "run the PyTorch peers of the kinds that have one (default on for the cpu device)");
  app.add_flag("--no-peer", peer_off, "do not run the PyTorch peer");
  app.add_option("--python", python, "Python with torch for the peers");
  app.add_option("--peer-dir", peer_dir, "folder of the peer scripts (default <source>/profiling/peers)");
  std::string config_flag;
  int diffusion_n = 0;
  app.add_option("--config", config_flag,
                 "JSON architecture settings for the kinds that have them, e.g. '{\"channels\": \"16,32,32\", "
                 "\"blocks\": 1}' (the ddpm CPU configuration)");
  app.add_option("--diffusion-n", diffusion_n,
                 "digits per timed DDPM/DDIM sampling call of diffusion kinds (default: 8 on the CPU, the batch on a GPU)");
  std::string cpu_conv = "direct";
  app.add_option("--cpu-conv", cpu_conv,
                 "CPU convolution path for 3x3 stride-1 layers: direct (AVX-512 kernels, where the CPU has them) or "
                 "gemm (im2col + OpenBLAS, the earlier path); default direct")
      ->check(CLI::IsMember({"direct", "gemm"}));
  bool conv_layers = false;
  app.add_flag("--conv-layers", conv_layers,
               "time the CPU convolution paths (im2col + GEMM and direct) on the CPU DDPM's 3x3 layer shapes at the "
               "first --batch size, then stop");
  CLI11_PARSE(app, argc, argv);

  try {
    if (data_dir.empty()) data_dir = default_data_dir();
    const std::vector<int> batches = parse_batches(batches_flag);
    std::string why;
    const Device device = choose_device(device_flag, &why);
    const bool peer = !peer_off && (peer_on || device == Device::CPU);
    if (threads > 0) set_cpu_threads(threads);
    std::printf("digitgen_bench: device %s\n", why.c_str());
    cpu::set_cpu_conv_path(cpu_conv == "gemm" ? cpu::CpuConvPath::Gemm : cpu::CpuConvPath::Direct);
    if (device == Device::CPU) {
      std::printf("OpenBLAS: %s, one thread per call; worker pool (GEMM blocks, elementwise loops): %d threads\n",
                  openblas_get_config(), cpu_threads());
      std::printf("3x3 stride-1 convolutions: %s\n",
                  cpu::direct_conv_applies({1, 1, 8, 8, 1, 3, 1, 1})
                      ? "direct AVX-512 kernels"
                      : (cpu_conv == "gemm" ? "im2col + GEMM (--cpu-conv gemm)" : "im2col + GEMM (no AVX-512F here)"));
    }

    if (conv_layers) {
      DG_REQUIRE(device == Device::CPU, "--conv-layers: times the CPU convolutions; use --device cpu");
      print_conv_layers(batches.front(), std::min(seconds, 1.0));
      return 0;
    }

    // Which cases: every selected kind with its defaults and the overrides it has keys for, each compared with its
    // peer when the peers run and the kind has one.
    std::vector<Case> cases;
    std::vector<const ModelKind*> kinds;
    if (models_flag.empty())
      for (const auto& k : model_registry()) kinds.push_back(&k);
    else
      for (const auto& name : split_list(models_flag)) kinds.push_back(&find_model_kind(name));
    for (const ModelKind* k : kinds) {
      nlohmann::json o = nlohmann::json::object();
      if (!hidden.empty() && k->defaults.contains("hidden")) o["hidden"] = hidden;
      if (latent > 0 && k->defaults.contains("latent")) o["latent"] = latent;
      if (!config_flag.empty()) {
        nlohmann::json extra;
        try {
          extra = nlohmann::json::parse(config_flag);
        } catch (const std::exception& e) {
          fail("--config: not a JSON object: ", e.what());
        }
        DG_REQUIRE(extra.is_object(), "--config: expected a JSON object like {\"channels\": \"16,32,32\"}");
        for (auto it = extra.begin(); it != extra.end(); ++it)
          if (k->defaults.contains(it.key())) o[it.key()] = it.value();
      }
      // Diffusion peers draw as many digits per timed sampling call as we do (peers run on the CPU).
      std::string diffusion_extra;
      if (k->defaults.contains("timesteps"))
        diffusion_extra = " --sample-n " + std::to_string(diffusion_call_n(diffusion_n, false, 0));
      cases.push_back({k->name, k, o, peer ? find_peer(k->name, merge_config(*k, o)) : nullptr, false, diffusion_extra});
      if (k->defaults.contains("prior_epochs")) {
        std::ostringstream extra;
        extra << " --stage prior --sample-seconds " << sample_seconds;
        cases.push_back({k->name + "-prior", k, o, cases.back().peer, true, extra.str()});
      }
    }

    // Data: read once on the host, uploaded into each row's own context so pool peaks are per row.
    const MnistSplit split = load_mnist_split(data_dir, true);
    std::printf("data: %s (%lld training images)\n", data_dir.c_str(), (long long)split.images.count);

    double gflops = 0;
    {
      Context ctx(device);
      gflops = sgemm_gflops(ctx, 1024, 1.0);
      std::printf("sgemm 1024^3 on %s: %.1f GFLOP/s\n", device_name(device), gflops);
    }
    const int peer_threads = device == Device::CPU ? cpu_threads() : 1;

    std::vector<Row> rows;
    PoolStats last_stats;
    double data_mib = 0;
    for (const Case& cs : cases) {
      for (int B : batches) {
        Row row;
        row.label = cs.label;
        row.batch = B;
        std::printf("  %s batch %d ...\n", cs.label.c_str(), B);
        std::fflush(stdout);
        try {
          Context ctx(device);
          DeviceDataset train(ctx, split);
          const size_t base = ctx.pool().stats().in_use;
          data_mib = mib(double(base));
          const int64_t per_epoch = train.size() / B;
          DG_REQUIRE(per_epoch > 0, "batch ", B, " is larger than the training set");
          const nlohmann::json cfg = merge_config(*cs.kind, cs.overrides);
          std::unique_ptr<Model> model = cs.kind->create(ctx, cfg, seed);
          if (cs.prior_stage) model->total_epochs(0);
          if (cfg.value("arch", "") == "mlp") row.fwd_flops = mlp_forward_flops(*model);

          OptimConfig oc;
          oc.adam.lr = cs.kind->train.lr;
          uint32_t epoch = 0;
          train.shuffle(ctx, seed, epoch);
          auto step = [&](int64_t i) {
            const int64_t s = i % per_epoch;
            if (s == 0 && i > 0) train.shuffle(ctx, seed, ++epoch);
            oc.step = i;
            oc.epoch = epoch;
            oc.epoch_frac = double(epoch) + double(s + 1) / double(per_epoch);
            const Metrics m = model->train_step(ctx, train.batch(ctx, s * B, B), StepInfo{true, seed, uint32_t(i)}, oc);
            row.loss = m.front().second;
          };
          for (int i = 0; i < warmup; ++i) step(i);
          ctx.synchronize();
          int64_t offset = warmup;
          const auto [steps, el] = time_loop(ctx, seconds, 3, [&](int64_t i) { step(offset + i); });
          DG_REQUIRE(std::isfinite(row.loss), "training diverged (loss ", row.loss, ")");
          row.ms_per_step = 1000.0 * el / double(steps);
          row.train_ips = double(steps) * B / el;

          // A kind with a prior samples through it: timed once, on its prior row.
          const bool has_prior = cs.kind->defaults.contains("prior_epochs");
          if (model->can_generate() && sample_seconds > 0 && (!has_prior || cs.prior_stage)) {
            std::vector<int32_t> labels(static_cast<size_t>(B));
            for (int i = 0; i < B; ++i) labels[size_t(i)] = i % 10;
            auto gen = [&](int64_t i) { model->generate(ctx, i * B, B, seed, labels.data()); };
            gen(0);
            ctx.synchronize();
            const auto [calls, gel] = time_loop(ctx, sample_seconds, 2, [&](int64_t i) { gen(i + 1); });
            row.sample_ips = double(calls) * B / gel;
          }
          // Diffusion kinds (those with timesteps): one timed call each of DDIM-50 and ancestral DDPM over all
          // timesteps, guided (scale 2), on a GPU with and without the CUDA graph.
          if (model->can_generate() && cfg.contains("timesteps") && sample_seconds > 0) {
            const int n = diffusion_call_n(diffusion_n, ctx.on_gpu(), B);
            std::vector<int32_t> labels(static_cast<size_t>(n));
            for (int i = 0; i < n; ++i) labels[size_t(i)] = i % 10;
            std::ostringstream d;
            d << n << " digits per call:";
            for (const char* sampler : {"ddim", "ddpm"})
              for (bool graph : {true, false}) {
                if (graph && !ctx.on_gpu()) continue;
                model->set_sampling({{"sampler", sampler}, {"sample_steps", 50}, {"guidance", 2.0}, {"cuda_graph", graph}});
                const auto t0 = Clock::now();
                model->generate(ctx, 0, n, seed, labels.data());
                ctx.synchronize();
                const double el = since(t0);
                d << " " << (std::string(sampler) == "ddim" ? "DDIM-50" : "DDPM-" + hidden_str(cfg["timesteps"]))
                  << (ctx.on_gpu() ? (graph ? " (graph)" : " (no graph)") : "") << " " << std::setprecision(3)
                  << double(n) / el << " img/s;";
              }
            model->set_sampling({{"sampler", "ddim"}, {"sample_steps", 50}, {"cuda_graph", true}});
            row.diffusion = d.str();
          }
          last_stats = ctx.pool().stats();
          row.peak_mib = mib(double(last_stats.peak - base));
        } catch (const std::exception& e) {
          row.error = e.what();
        }
        if (cs.peer && row.error.empty()) {
          const nlohmann::json c = merge_config(*cs.kind, cs.overrides);
          row.peer = run_peer(python, peer_dir + "/" + cs.peer->script, data_dir, peer_settings(*cs.peer, c) + cs.peer_extra, B, seconds,
                              warmup, peer_threads);
          row.peer_ran = true;
        }
        rows.push_back(row);
      }
    }

    std::printf("\ndevice: %s\n", why.c_str());
    std::printf("sgemm 1024^3: %.1f GFLOP/s; MLP training FLOPs/image = 3 x forward (2 x weights); '*': counted by\n"
                "the kind's PyTorch peer on the same architecture (conv kinds)\n", gflops);
    std::printf("peak MiB: pool peak beyond the resident training set (%.1f MiB)\n\n", data_mib);
    std::printf("%-12s %6s %9s %10s %10s %9s %8s %9s %7s %10s %7s\n", "model", "batch", "ms/step", "train img/s",
                "sample img/s", "peak MiB", "loss", "MFLOP/img", "%sgemm", "torch img/s", "ours/pt");
    for (const Row& r : rows) {
      if (!r.error.empty()) {
        std::printf("%-12s %6d ERROR: %s\n", r.label.c_str(), r.batch, r.error.c_str());
        continue;
      }
      char sample[32] = "-", flops[32] = "-", frac[32] = "-", peer[32] = "-", ratio[32] = "-";
      if (r.sample_ips >= 0) std::snprintf(sample, sizeof sample, "%.0f", r.sample_ips);
      const bool from_peer = r.fwd_flops <= 0 && r.peer_ran && r.peer.ok && r.peer.train_flops > 0;
      const double train_flops = r.fwd_flops > 0 ? 3.0 * r.fwd_flops : from_peer ? r.peer.train_flops : 0.0;
      if (train_flops > 0) {
        std::snprintf(flops, sizeof flops, "%.2f%s", train_flops / 1e6, from_peer ? "*" : "");
        std::snprintf(frac, sizeof frac, "%.0f%%", 100.0 * train_flops * r.train_ips / 1e9 / gflops);
      }
      if (r.peer_ran && r.peer.ok) {
        std::snprintf(peer, sizeof peer, "%.0f", r.peer.images_per_s);
        std::snprintf(ratio, sizeof ratio, "%.2f", r.train_ips / r.peer.images_per_s);
      } else if (r.peer_ran) {
        std::snprintf(peer, sizeof peer, "failed");
      }
      std::printf("%-12s %6d %9.2f %11.0f %12s %9.1f %8.4g %9s %7s %10s %7s\n", r.label.c_str(), r.batch, r.ms_per_step,
                  r.train_ips, sample, r.peak_mib, r.loss, flops, frac, peer, ratio);
    }
    for (const Row& r : rows)
      if (!r.diffusion.empty()) std::printf("sampling (%s, batch %d): %s\n", r.label.c_str(), r.batch, r.diffusion.c_str());
    for (const Row& r : rows) {
      if (!r.peer_ran) continue;
      std::printf("peer (%s, batch %d): %s\n", r.label.c_str(), r.batch, r.peer.note.c_str());
      // Both counted: they must agree, else the peer is not the same architecture and the ratio means little.
      if (r.peer.ok && r.fwd_flops > 0 && r.peer.train_flops > 0 &&
          std::fabs(3.0 * r.fwd_flops - r.peer.train_flops) > 0.01 * r.peer.train_flops)
        std::printf("  WARNING: FLOPs/image differ: ours %.3f M, peer %.3f M (not the same architecture?)\n",
                    3.0 * r.fwd_flops / 1e6, r.peer.train_flops / 1e6);
    }
    std::printf("pool (last row): %s\n", last_stats.to_string().c_str());
    int errors = 0;
    for (const Row& r : rows) errors += !r.error.empty();
    return errors ? 2 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "digitgen_bench: error: %s\n", e.what());
    return 1;
  }
}
