// Judging digits by a classifier's predictions: the class histogram, its entropy and smallest share (mode
// collapse shows there), and agreement with requested labels (conditional models), overall and per label.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dg {

struct ClassReport {
  int64_t count = 0;
  std::array<int64_t, 10> histogram{};  // predictions per class
  double entropy = 0;                   // of the predicted-class shares, in nats (ln 10 = 2.303 when uniform)
  double min_share = 0;                 // the smallest class's share of the predictions
  bool has_labels = false;
  int64_t agree = 0;                    // predictions equal to the given label
  std::array<int64_t, 10> label_count{}, label_agree{};
  double agreement() const { return count ? double(agree) / double(count) : 0.0; }
  nlohmann::json to_json() const;
};

// `labels` may be null; otherwise it has predicted.size() entries in 0..9.
ClassReport judge_predictions(const std::vector<int32_t>& predicted, const std::vector<int32_t>* labels);

class Context;
class Model;
// Classifies the 28x28 digits of an IDX file (plain or .gz) in chunks and judges the predictions, against the
// IDX labels file when `labels_path` is not empty.
ClassReport judge_idx_file(Context& ctx, Model& classifier, const std::string& images_path,
                           const std::string& labels_path);

}  // namespace dg
