// What `digitgen sample` and `digitgen restyle` do, as functions the CLI and the tests share: generation into a
// sample file (optionally per label), and restyling a file of digits as another digit with a conditional model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/model.h"

namespace dg {

// The value of --label: absent, one digit, or "all" (one row per digit).
struct LabelChoice {
  enum class Kind { None, Digit, All };
  Kind kind = Kind::None;
  int digit = 0;
};
// "" is None; "0".."9" a digit; "all" All; anything else is an error naming --label.
LabelChoice parse_label_choice(const std::string& s);

struct SampleOptions {
  int64_t n = 64;  // digits; with --label all, digits per label (columns of the grid, 10 rows)
  int batch = 256;  // digits per device call
  uint64_t seed = 1;
  LabelChoice label;
};

struct SampleSummary {
  int64_t count = 0;     // digits written
  bool labelled = false;  // labels written too (conditional models; .idx/.npy)
};

// Generates into `out` (.png grid, .idx or .npy, see open_sample_writer). Sample i (column i with --label all)
// uses latent i of the seed, so with --label all every row shows the same styles as a different digit, rows in
// the order 0..9. A conditional model without --label draws label i % 10 for sample i; a conditional model's
// labels go into the .idx/.npy label file. --label with a model that is not conditional is an error naming
// the model kind.
SampleSummary write_samples(Context& ctx, Model& model, const SampleOptions& o, const std::string& out);

struct RestyleOptions {
  std::string input;         // IDX images (plain or .gz), or a PNG of one 28x28 digit
  std::string input_labels;  // IDX labels of the input (plain or .gz); "" to predict them with the evaluator
  std::string evaluator;     // classifier checkpoint (file or run folder), used when input_labels is ""
  int to = 0;                // target digit
  int batch = 256;           // digits per device call
  std::string out;           // .png (input and result side by side), .idx or .npy (results, labelled `to`)
};

struct RestyleSummary {
  int64_t count = 0;                // digits restyled
  bool predicted = false;           // input labels came from the evaluator
  std::vector<int32_t> from_labels;  // the input labels used
};

// Encodes each input with its own label and decodes the posterior mean with label `to`, in batches.
RestyleSummary restyle_file(Context& ctx, Model& model, const RestyleOptions& o);

// ---- reconstruct (issue 4) ----
struct ReconstructOptions {
  std::string input;         // IDX images (plain or .gz), or a PNG of one 28x28 digit
  std::string input_labels;  // IDX labels (conditional autoencoders); "" to predict them with the evaluator
  std::string evaluator;     // classifier checkpoint used when a conditional model needs labels and none are given
  int batch = 256;           // digits per device call
  std::string out;           // .png (input and reconstruction side by side), .idx or .npy (reconstructions)
};

struct ReconstructSummary {
  int64_t count = 0;
  double mse = 0;    // mean squared pixel error in [0, 1] units over all digits
  double psnr = 0;   // 10 log10(1 / mse)
  bool predicted = false;  // labels came from the evaluator
  Metrics stats;     // the model's own statistics (the VQ-VAE: codebook perplexity, codes used)
};

// Reconstructs every input digit with the model (Model::reconstruct) in batches and writes them; the CLI's
// `reconstruct` command (AE, VAE, CVAE, VQ-VAE).
ReconstructSummary reconstruct_file(Context& ctx, Model& model, const ReconstructOptions& o);

// A classifier's predicted digits (argmax of its logits) for host images [n, 28 * 28] in [0, 1], in batches.
std::vector<int32_t> predict_digits(Context& ctx, Model& classifier, const float* images, int64_t n, int batch = 500);

}  // namespace dg
