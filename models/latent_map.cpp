// Latent-space maps (see latent_map.h).
#include "models/latent_map.h"

#include <Eigen/Dense>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "runtime/error.h"
#include "runtime/plot.h"

namespace fs = std::filesystem;

namespace dg {

LatentMap map_latent_space(Context& ctx, Model& model, DeviceDataset& data, int64_t n) {
  DG_REQUIRE(model.can_encode(), "model kind '", model.kind(), "' has no latent space to map");
  n = std::min(n, data.size());
  DG_REQUIRE(n >= 3, "a latent map needs at least 3 digits, got ", n);
  data.sequential(ctx);
  std::vector<float> codes;
  LatentMap m;
  const int chunk = 500;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int B = int(std::min<int64_t>(chunk, n - begin));
    const Batch b = data.batch(ctx, begin, B);
    const Tensor z = model.encode(ctx, b.images, b.labels);
    m.latent = int(z.dim(1));
    const std::vector<float> zh = z.to_host(ctx);
    codes.insert(codes.end(), zh.begin(), zh.end());
    std::vector<int32_t> l(static_cast<size_t>(B));
    copy_to_host(ctx, l.data(), b.labels.raw(), l.size() * sizeof(int32_t));
    m.labels.insert(m.labels.end(), l.begin(), l.end());
  }
  const int Z = m.latent;
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> zf(codes.data(), n, Z);
  Eigen::MatrixXd zd = zf.cast<double>();
  zd.rowwise() -= zd.colwise().mean();
  Eigen::MatrixXd axes(Z, 2);
  if (Z <= 2) {
    axes.setZero();
    for (int i = 0; i < Z; ++i) axes(i, i) = 1.0;
    m.explained = 1.0;
  } else {
    const Eigen::MatrixXd cov = zd.transpose() * zd / double(n - 1);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);  // eigenvalues ascending
    DG_REQUIRE(eig.info() == Eigen::Success, "latent map: the covariance eigen-decomposition failed");
    axes.col(0) = eig.eigenvectors().col(Z - 1);
    axes.col(1) = eig.eigenvectors().col(Z - 2);
    const double total = eig.eigenvalues().sum();
    m.explained = total > 0 ? (eig.eigenvalues()(Z - 1) + eig.eigenvalues()(Z - 2)) / total : 0.0;
  }
  const Eigen::MatrixXd p = zd * axes;
  m.xy.resize(size_t(n) * 2);
  for (int64_t i = 0; i < n; ++i) {
    m.xy[size_t(i) * 2] = float(p(i, 0));
    m.xy[size_t(i) * 2 + 1] = float(p(i, 1));
  }
  return m;
}

void plot_latent_map(const LatentMap& map, const std::string& title, const std::string& png_path) {
  // One gnuplot data block per digit (separated by two blank lines), so each gets its own colour and key entry.
  std::ostringstream text;
  for (int d = 0; d < 10; ++d) {
    for (size_t i = 0; i < map.labels.size(); ++i)
      if (map.labels[i] == d) text << map.xy[i * 2] << ' ' << map.xy[i * 2 + 1] << '\n';
    text << "\n\n";
  }
  char sub[128];
  std::snprintf(sub, sizeof sub, "%d-d latent, %s (%.0f%% of the variance)", map.latent,
                map.latent <= 2 ? "as is" : "first two principal axes", 100.0 * map.explained);
  draw_with_gnuplot(text.str(), [&](const std::string& data, const std::string& png) {
    std::ostringstream gp;
    gp << "set terminal pngcairo size 800,700 noenhanced\n"
       << "set output '" << png << "'\n"
       << "set title \"" << title << "\\n" << sub << "\"\n"
       << "set key outside right\nset grid\n"
       // Ten distinct colours (gnuplot's default cycle repeats after eight).
       << "array C[10] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', "
          "'#bcbd22', '#17becf']\n"
       << "plot for [d=0:9] '" << data << "' index d using 1:2 with points pt 7 ps 0.4 lc rgb C[d+1] "
          "title sprintf('%d', d)\n";
    return gp.str();
  }, png_path);
}

}  // namespace dg
