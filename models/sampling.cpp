// Sampling into files and restyling (see sampling.h).
#include "models/sampling.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "models/checkpoint.h"
#include "runtime/error.h"
#include "runtime/idx.h"
#include "runtime/image_io.h"

namespace fs = std::filesystem;

namespace dg {
namespace {

constexpr int kPixels = 28 * 28;
constexpr int64_t kPngMaxCells = 10000;

std::string lower_extension(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return e;
}

struct InputDigits {
  int64_t count = 0;
  std::vector<float> pixels;  // [count, 28 * 28] in [0, 1]
};

InputDigits read_input_digits(const std::string& path) {
  DG_REQUIRE(fs::exists(path), "--input ", path, ": no such file");
  InputDigits in;
  if (lower_extension(path) == ".png") {
    const GrayImage g = read_png_gray(path);
    DG_REQUIRE(g.rows == 28 && g.cols == 28, "--input ", path, ": expected one 28x28 digit, got ", g.rows, "x", g.cols,
               " (for many digits give an IDX file)");
    in.count = 1;
    in.pixels = g.pixels;
    return in;
  }
  const IdxImages images = read_idx_images(path);
  DG_REQUIRE(images.rows == 28 && images.cols == 28, "--input ", path, ": expected 28x28 images, got ", images.rows,
             "x", images.cols);
  in.count = images.count;
  in.pixels = idx_to_unit_float(images);
  return in;
}

// Each input's digit: from an IDX labels file, or predicted by the evaluator classifier (`command` names who
// needs them in the error).
std::vector<int32_t> input_labels(Context& ctx, const std::string& labels_path, const std::string& evaluator,
                                  const InputDigits& in, const char* command, bool* predicted) {
  *predicted = false;
  if (!labels_path.empty()) {
    DG_REQUIRE(fs::exists(labels_path), "--input-labels ", labels_path, ": no such file");
    const std::vector<uint8_t> l = read_idx_labels(labels_path);
    DG_REQUIRE(int64_t(l.size()) == in.count, "--input-labels ", labels_path, ": ", l.size(), " labels for ", in.count,
               " images");
    return std::vector<int32_t>(l.begin(), l.end());
  }
  DG_REQUIRE(!evaluator.empty() && fs::exists(evaluator), "evaluator ", evaluator, " not found: ", command,
             " needs each input's digit; give --input-labels FILE, or --evaluator with a classifier "
             "checkpoint (e.g. digitgen train --model classifier --out RUN, then --evaluator RUN)");
  LoadedModel ev = load_checkpoint(ctx, evaluator);
  DG_REQUIRE(ev.model->can_classify(), "--evaluator ", ev.path, ": model kind '", ev.meta.kind, "' is not a classifier");
  *predicted = true;
  return predict_digits(ctx, *ev.model, in.pixels.data(), in.count);
}

// A PNG of input/result pairs side by side: pairs of cells in a near-square grid (p pairs per row for about
// 2p rows); returns the writer options.
SampleWriterOptions pair_grid_options(const std::string& out, int64_t count) {
  SampleWriterOptions wo;
  DG_REQUIRE(2 * count <= kPngMaxCells, "--out ", out, ": a PNG holds at most ", kPngMaxCells / 2,
             " input/result pairs (got ", count, " inputs); use .idx or .npy for more");
  const int64_t pairs_per_row = std::min<int64_t>(count, int64_t(std::ceil(std::sqrt(double(count) / 2.0))));
  wo.png_columns = int(2 * std::max<int64_t>(1, pairs_per_row));
  return wo;
}

}  // namespace

LabelChoice parse_label_choice(const std::string& s) {
  LabelChoice c;
  if (s.empty()) return c;
  if (s == "all") {
    c.kind = LabelChoice::Kind::All;
    return c;
  }
  DG_REQUIRE(s.size() == 1 && s[0] >= '0' && s[0] <= '9', "--label: expected a digit 0..9 or 'all', got '", s, "'");
  c.kind = LabelChoice::Kind::Digit;
  c.digit = s[0] - '0';
  return c;
}

SampleSummary write_samples(Context& ctx, Model& model, const SampleOptions& o, const std::string& out) {
  DG_REQUIRE(model.can_generate(), "model kind '", model.kind(), "' does not generate digits");
  DG_REQUIRE(o.n > 0, "--n: expected a positive count, got ", o.n);
  DG_REQUIRE(o.batch > 0, "--batch: expected a positive size, got ", o.batch);
  const bool conditional = model.conditional();
  DG_REQUIRE(o.label.kind == LabelChoice::Kind::None || conditional, "--label: model kind '", model.kind(),
             "' is not conditional on a label (train a conditional kind such as cvae)");
  const bool all = o.label.kind == LabelChoice::Kind::All;
  const int rows = all ? 10 : 1;
  const int64_t total = o.n * rows;
  const bool png = lower_extension(out) == ".png";
  DG_REQUIRE(!png || total <= kPngMaxCells, "--out ", out, ": a PNG grid holds at most ", kPngMaxCells,
             " digits (asked for ", total, "); use .idx or .npy for more");
  SampleWriterOptions wo;
  if (all) wo.png_columns = int(o.n);  // one row per digit, column i = latent i
  std::unique_ptr<SampleWriter> w = open_sample_writer(out, total, 28, 28, wo);
  std::vector<int32_t> labels;
  for (int row = 0; row < rows; ++row) {
    for (int64_t first = 0; first < o.n; first += o.batch) {
      const int b = int(std::min<int64_t>(o.batch, o.n - first));
      const int32_t* lp = nullptr;
      if (conditional) {
        labels.resize(size_t(b));
        for (int i = 0; i < b; ++i)
          labels[size_t(i)] = all ? row
                              : o.label.kind == LabelChoice::Kind::Digit ? o.label.digit
                                                                          : int32_t((first + i) % 10);
        lp = labels.data();
      }
      const std::vector<float> img = model.generate(ctx, first, b, o.seed, lp).to_host(ctx);
      w->write(img.data(), lp, b);
    }
  }
  w->finish();
  return SampleSummary{total, conditional && !png};
}

std::vector<int32_t> predict_digits(Context& ctx, Model& classifier, const float* images, int64_t n, int batch) {
  DG_REQUIRE(classifier.can_classify(), "model kind '", classifier.kind(), "' is not a classifier");
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int64_t first = 0; first < n; first += batch) {
    const int b = int(std::min<int64_t>(batch, n - first));
    const Tensor x = Tensor::from_host(ctx, {b, 1, 28, 28}, images + first * kPixels);
    const std::vector<float> logits = classifier.classify(ctx, x).to_host(ctx);
    DG_REQUIRE(logits.size() == size_t(b) * 10, "internal: classifier returned ", logits.size(), " logits for ", b,
               " images");
    for (int i = 0; i < b; ++i) {
      const float* l = logits.data() + size_t(i) * 10;
      out[size_t(first + i)] = int32_t(std::max_element(l, l + 10) - l);
    }
  }
  return out;
}

RestyleSummary restyle_file(Context& ctx, Model& model, const RestyleOptions& o) {
  DG_REQUIRE(model.conditional(), "restyle: model kind '", model.kind(),
             "' is not conditional on a label (train a conditional kind such as cvae)");
  DG_REQUIRE(o.to >= 0 && o.to <= 9, "--to: expected a digit 0..9, got ", o.to);
  DG_REQUIRE(o.batch > 0, "--batch: expected a positive size, got ", o.batch);
  const InputDigits in = read_input_digits(o.input);
  RestyleSummary s;
  s.count = in.count;
  s.from_labels = input_labels(ctx, o.input_labels, o.evaluator, in, "restyle", &s.predicted);

  const bool png = lower_extension(o.out) == ".png";
  SampleWriterOptions wo;
  int64_t total = in.count;
  if (png) {
    total = 2 * in.count;
    wo = pair_grid_options(o.out, in.count);
  }
  std::unique_ptr<SampleWriter> w = open_sample_writer(o.out, total, 28, 28, wo);
  std::vector<int32_t> to, target_labels;
  std::vector<float> pairs;
  for (int64_t first = 0; first < in.count; first += o.batch) {
    const int b = int(std::min<int64_t>(o.batch, in.count - first));
    to.assign(size_t(b), int32_t(o.to));
    const Tensor x = Tensor::from_host(ctx, {b, 1, 28, 28}, in.pixels.data() + first * kPixels);
    const std::vector<float> y = model.restyle(ctx, x, s.from_labels.data() + first, to.data()).to_host(ctx);
    DG_REQUIRE(y.size() == size_t(b) * kPixels, "internal: restyle returned ", y.size(), " values for ", b, " digits");
    if (png) {
      pairs.resize(size_t(2 * b) * kPixels);
      for (int i = 0; i < b; ++i) {
        std::copy_n(in.pixels.data() + (first + i) * kPixels, kPixels, pairs.data() + size_t(2 * i) * kPixels);
        std::copy_n(y.data() + size_t(i) * kPixels, kPixels, pairs.data() + size_t(2 * i + 1) * kPixels);
      }
      w->write(pairs.data(), nullptr, 2 * b);
    } else {
      w->write(y.data(), to.data(), b);
    }
  }
  w->finish();
  return s;
}

// ---- reconstruct (issue 4) ----
ReconstructSummary reconstruct_file(Context& ctx, Model& model, const ReconstructOptions& o) {
  DG_REQUIRE(model.can_reconstruct(), "reconstruct: model kind '", model.kind(), "' does not reconstruct its input");
  DG_REQUIRE(o.batch > 0, "--batch: expected a positive size, got ", o.batch);
  const InputDigits in = read_input_digits(o.input);
  ReconstructSummary s;
  s.count = in.count;
  std::vector<int32_t> labels;
  if (model.conditional() || !o.input_labels.empty())
    labels = input_labels(ctx, o.input_labels, o.evaluator, in, "reconstruct with a conditional model", &s.predicted);
  const bool png = lower_extension(o.out) == ".png";
  const SampleWriterOptions wo = png ? pair_grid_options(o.out, in.count) : SampleWriterOptions{};
  std::unique_ptr<SampleWriter> w = open_sample_writer(o.out, png ? 2 * in.count : in.count, 28, 28, wo);
  model.take_reconstruct_stats();  // start the statistics afresh
  std::vector<float> pairs;
  double sq = 0;
  for (int64_t first = 0; first < in.count; first += o.batch) {
    const int b = int(std::min<int64_t>(o.batch, in.count - first));
    const float* x_host = in.pixels.data() + first * kPixels;
    const Tensor x = Tensor::from_host(ctx, {b, 1, 28, 28}, x_host);
    const std::vector<float> y =
        model.reconstruct(ctx, x, labels.empty() ? nullptr : labels.data() + first).to_host(ctx);
    DG_REQUIRE(y.size() == size_t(b) * kPixels, "internal: reconstruct returned ", y.size(), " values for ", b, " digits");
    for (size_t i = 0; i < y.size(); ++i) sq += (double(y[i]) - x_host[i]) * (double(y[i]) - x_host[i]);
    if (png) {
      pairs.resize(size_t(2 * b) * kPixels);
      for (int i = 0; i < b; ++i) {
        std::copy_n(x_host + size_t(i) * kPixels, kPixels, pairs.data() + size_t(2 * i) * kPixels);
        std::copy_n(y.data() + size_t(i) * kPixels, kPixels, pairs.data() + size_t(2 * i + 1) * kPixels);
      }
      w->write(pairs.data(), nullptr, 2 * b);
    } else {
      w->write(y.data(), nullptr, b);
    }
  }
  w->finish();
  s.mse = in.count ? sq / double(in.count * kPixels) : 0.0;
  s.psnr = 10.0 * std::log10(1.0 / std::max(s.mse, 1e-12));
  s.stats = model.take_reconstruct_stats();
  return s;
}

}  // namespace dg
