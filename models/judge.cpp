// Class histograms and label agreement (see judge.h).
#include "models/judge.h"

#include <algorithm>
#include <cmath>

#include "models/sampling.h"
#include "runtime/error.h"
#include "runtime/idx.h"

namespace dg {

ClassReport judge_predictions(const std::vector<int32_t>& predicted, const std::vector<int32_t>* labels) {
  ClassReport r;
  r.count = int64_t(predicted.size());
  DG_REQUIRE(!labels || labels->size() == predicted.size(), "labels: ", labels ? labels->size() : 0,
             " given for ", predicted.size(), " predictions");
  r.has_labels = labels != nullptr;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const int p = predicted[i];
    DG_REQUIRE(p >= 0 && p < 10, "prediction ", p, " at position ", i, " is not a digit");
    r.histogram[size_t(p)]++;
    if (labels) {
      const int l = (*labels)[i];
      DG_REQUIRE(l >= 0 && l < 10, "label ", l, " at position ", i, " is not a digit");
      r.label_count[size_t(l)]++;
      if (l == p) {
        r.agree++;
        r.label_agree[size_t(l)]++;
      }
    }
  }
  if (r.count > 0) {
    r.min_share = 1.0;
    for (int64_t h : r.histogram) {
      const double share = double(h) / double(r.count);
      r.min_share = std::min(r.min_share, share);
      if (share > 0) r.entropy -= share * std::log(share);
    }
  }
  return r;
}

ClassReport judge_idx_file(Context& ctx, Model& classifier, const std::string& images_path,
                           const std::string& labels_path) {
  const IdxImages images = read_idx_images(images_path);
  DG_REQUIRE(images.rows == 28 && images.cols == 28, images_path, ": images are ", images.rows, "x", images.cols,
             ", expected 28x28");
  std::vector<int32_t> predicted;
  const int64_t chunk = 10000, P = 28 * 28;
  for (int64_t begin = 0; begin < images.count; begin += chunk) {
    const int64_t m = std::min(chunk, images.count - begin);
    std::vector<float> f(size_t(m * P));
    for (size_t i = 0; i < f.size(); ++i) f[i] = float(images.pixels[size_t(begin * P) + i]) / 255.0f;
    const std::vector<int32_t> p = predict_digits(ctx, classifier, f.data(), m);
    predicted.insert(predicted.end(), p.begin(), p.end());
  }
  if (labels_path.empty()) return judge_predictions(predicted, nullptr);
  const std::vector<uint8_t> l = read_idx_labels(labels_path);
  DG_REQUIRE(int64_t(l.size()) == images.count, labels_path, ": ", l.size(), " labels for ", images.count,
             " images in ", images_path);
  const std::vector<int32_t> labels(l.begin(), l.end());
  return judge_predictions(predicted, &labels);
}

nlohmann::json ClassReport::to_json() const {
  nlohmann::json j = {{"count", count},     {"histogram", histogram}, {"entropy", entropy},
                      {"min_share", min_share}};
  if (has_labels) {
    std::vector<double> per(10, 0.0);
    for (int c = 0; c < 10; ++c)
      per[size_t(c)] = label_count[size_t(c)] ? double(label_agree[size_t(c)]) / double(label_count[size_t(c)]) : 0.0;
    j["label_agreement"] = agreement();
    j["label_agreement_per_digit"] = per;
  }
  return j;
}

}  // namespace dg
