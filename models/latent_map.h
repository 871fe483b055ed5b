// A 2-D map of a model's latent space: encode test digits, project the codes onto their two principal axes
// (Eigen, double precision), and draw them coloured by digit with gnuplot.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/model.h"

namespace dg {

struct LatentMap {
  std::vector<float> xy;         // [n, 2]: the codes on the first two principal axes (the codes themselves if Z = 2)
  std::vector<int32_t> labels;   // [n]
  int latent = 0;                // Z
  double explained = 0;          // share of the codes' variance on the two axes
};

// Encodes the first `n` images of `data` (in its sequential order).
LatentMap map_latent_space(Context& ctx, Model& model, DeviceDataset& data, int64_t n);

// Scatter plot, one colour per digit, written to `png_path` atomically.
void plot_latent_map(const LatentMap& map, const std::string& title, const std::string& png_path);

}  // namespace dg
