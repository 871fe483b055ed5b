// Evaluation statistics (see eval_metrics.h).
#include "models/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/gather.h"
#include "kernels/gemm.h"
#include "kernels/rowwise_dot.h"
#include "kernels/sqdist_topk.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace dg {

std::vector<int64_t> eval_subset(int64_t n, int64_t m, uint64_t seed, uint32_t selection) {
  DG_REQUIRE(m >= 0 && m <= n, "subset of ", m, " rows asked from a set of ", n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  for (int64_t i = 0; i < m; ++i) {
    // Position i takes a uniformly drawn element of positions i .. n-1 (64-bit draw, so the modulo bias is negligible).
    const uint64_t r = (uint64_t(philox_u32(seed, kPurposeEvalSubset, 2 * uint64_t(i), selection)) << 32) |
                       philox_u32(seed, kPurposeEvalSubset, 2 * uint64_t(i) + 1, selection);
    const int64_t j = i + int64_t(r % uint64_t(n - i));
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  order.resize(size_t(m));
  return order;
}

FeatureSet take_rows(const FeatureSet& s, const std::vector<int64_t>& rows) {
  FeatureSet out;
  out.n = int64_t(rows.size());
  out.dim = s.dim;
  out.data.resize(size_t(out.n) * s.dim);
  for (size_t i = 0; i < rows.size(); ++i) {
    DG_REQUIRE(rows[i] >= 0 && rows[i] < s.n, "row ", rows[i], " outside a set of ", s.n);
    std::copy_n(s.row(rows[i]), s.dim, out.data.data() + i * size_t(s.dim));
  }
  return out;
}

GaussianMoments feature_moments(const FeatureSet& s) {
  DG_REQUIRE(s.n >= 2, "moments need at least 2 rows, got ", s.n);
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> x(s.data.data(), s.n, s.dim);
  const Eigen::MatrixXd xd = x.cast<double>();
  GaussianMoments m;
  m.mean = xd.colwise().mean().transpose();
  const Eigen::MatrixXd c = xd.rowwise() - m.mean.transpose();
  m.cov = (c.transpose() * c) / double(s.n - 1);
  return m;
}

namespace {

// Square root of a symmetric positive semi-definite matrix.
Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& a) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(a);
  DG_REQUIRE(es.info() == Eigen::Success, "Frechet distance: the eigendecomposition of a covariance failed");
  const Eigen::VectorXd r = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return es.eigenvectors() * r.asDiagonal() * es.eigenvectors().transpose();
}

}  // namespace

double frechet_distance(const GaussianMoments& a, const GaussianMoments& b) {
  DG_REQUIRE(a.mean.size() == b.mean.size(), "Frechet distance: feature sizes differ (", a.mean.size(), " and ",
             b.mean.size(), ")");
  const Eigen::MatrixXd ra = sqrt_psd(a.cov);
  Eigen::MatrixXd m = ra * b.cov * ra;
  m = 0.5 * (m + m.transpose());  // symmetric up to rounding; make it exactly so
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m, Eigen::EigenvaluesOnly);
  DG_REQUIRE(es.info() == Eigen::Success, "Frechet distance: the eigendecomposition of the covariance product failed");
  const double tr_sqrt = es.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * tr_sqrt;
}

KidResult kernel_inception_distance(Context& ctx, const FeatureSet& a, const FeatureSet& b, int subsets,
                                    int64_t subset_size, uint64_t seed) {
  DG_REQUIRE(a.dim == b.dim, "KID: feature sizes differ (", a.dim, " and ", b.dim, ")");
  DG_REQUIRE(subsets >= 1, "KID: expected at least one subset, got ", subsets);
  const int64_t m = std::min({subset_size, a.n, b.n});
  DG_REQUIRE(m >= 2, "KID: subsets need at least 2 rows each, got ", m);
  const int d = a.dim;
  KidResult r;
  r.subsets = subsets;
  r.subset_size = m;
  std::vector<double> values;
  std::vector<float> stacked(size_t(2 * m) * d), gram(size_t(2 * m) * size_t(2 * m));
  Tensor x = Tensor::empty(ctx, {2 * m, d}), g = Tensor::empty(ctx, {2 * m, 2 * m});
  auto cube = [d](float dot) {
    const double t = double(dot) / double(d) + 1.0;
    return t * t * t;
  };
  for (int s = 0; s < subsets; ++s) {
    const std::vector<int64_t> ia = eval_subset(a.n, m, seed, 100 + 2 * uint32_t(s));
    const std::vector<int64_t> ib = eval_subset(b.n, m, seed, 101 + 2 * uint32_t(s));
    for (int64_t i = 0; i < m; ++i) {
      std::copy_n(a.row(ia[size_t(i)]), d, stacked.data() + size_t(i) * d);
      std::copy_n(b.row(ib[size_t(i)]), d, stacked.data() + size_t(m + i) * d);
    }
    // One Gram matrix of the stacked rows [a; b] holds the a-a, b-b and a-b blocks.
    copy_to_device(ctx, x.raw(), stacked.data(), stacked.size() * sizeof(float));
    gemm(ctx, Transpose::No, Transpose::Yes, int(2 * m), int(2 * m), d, 1.0f, x.f32(), x.f32(), 0.0f, g.f32());
    copy_to_host(ctx, gram.data(), g.raw(), gram.size() * sizeof(float));
    double kaa = 0, kbb = 0, kab = 0;
    for (int64_t i = 0; i < m; ++i) {
      const float* ra = gram.data() + size_t(i) * size_t(2 * m);
      const float* rb = gram.data() + size_t(m + i) * size_t(2 * m);
      for (int64_t j = 0; j < m; ++j) {
        if (j != i) {
          kaa += cube(ra[j]);
          kbb += cube(rb[m + j]);
        }
        kab += cube(ra[m + j]);
      }
    }
    const double mm = double(m);
    values.push_back(kaa / (mm * (mm - 1)) + kbb / (mm * (mm - 1)) - 2.0 * kab / (mm * mm));
  }
  r.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  double var = 0;
  for (double v : values) var += (v - r.mean) * (v - r.mean);
  r.subset_std = values.size() > 1 ? std::sqrt(var / double(values.size() - 1)) : 0.0;
  r.std_error = r.subset_std / std::sqrt(double(values.size()));
  return r;
}

NeighbourIndex::NeighbourIndex(Context& ctx, const float* rows, int64_t n, int dim) : n_(n), dim_(dim) {
  DG_REQUIRE(n >= 1 && dim >= 1, "nearest-neighbour index: empty reference set (", n, " rows of ", dim, ")");
  DG_REQUIRE(n < int64_t(std::numeric_limits<int32_t>::max()), "nearest-neighbour index: too many rows (", n, ")");
  rows_ = Tensor::from_host(ctx, {n, dim}, rows);
  norms_ = Tensor::empty(ctx, {n});
  rowwise_dot_forward(ctx, rows_.f32(), rows_.f32(), norms_.f32(), int(n), dim);
}

NeighbourIndex::Result NeighbourIndex::search(Context& ctx, const float* queries, int64_t M, int k,
                                              const std::vector<float>* subtract) const {
  DG_REQUIRE(k >= 1 && k <= kSqdistTopkMaxK && k <= n_, "nearest-neighbour search: k = ", k, " with ", n_,
             " references (at most ", kSqdistTopkMaxK, ")");
  DG_REQUIRE(!subtract || int64_t(subtract->size()) == n_, "nearest-neighbour search: ", subtract ? subtract->size() : 0,
             " offsets for ", n_, " references");
  Result r;
  r.k = k;
  r.value.resize(size_t(M) * k);
  r.index.resize(size_t(M) * k);
  Tensor rnorm = norms_;
  if (subtract) {
    // Offsets fold into the references' norms: |q|^2 + (|r|^2 - offset) - 2 q.r.
    const Tensor off = Tensor::from_host(ctx, {n_}, subtract->data());
    rnorm = Tensor::empty(ctx, {n_});
    copy_on_device(ctx, rnorm.raw(), norms_.raw(), size_t(n_) * sizeof(float));
    axpby(ctx, -1.0f, off.f32(), 1.0f, rnorm.f32(), n_);
  }
  // Queries in chunks, references in blocks: one dots block [4096 references, 4096 queries] (64 MiB) at a time.
  const int64_t qchunk = 4096, rblock = 4096;
  Tensor dots = Tensor::empty(ctx, {rblock, qchunk});
  for (int64_t q0 = 0; q0 < M; q0 += qchunk) {
    const int mq = int(std::min(qchunk, M - q0));
    const Tensor q = Tensor::from_host(ctx, {mq, dim_}, queries + q0 * dim_);
    Tensor qn = Tensor::empty(ctx, {mq});
    rowwise_dot_forward(ctx, q.f32(), q.f32(), qn.f32(), mq, dim_);
    std::vector<float> init(size_t(mq) * k, std::numeric_limits<float>::infinity());
    std::vector<int32_t> init_idx(size_t(mq) * k, -1);
    Tensor best = Tensor::from_host(ctx, {mq, k}, init.data());
    Tensor best_idx = Tensor::empty(ctx, {mq, k}, DType::I32);
    copy_to_device(ctx, best_idx.raw(), init_idx.data(), init_idx.size() * sizeof(int32_t));
    for (int64_t r0 = 0; r0 < n_; r0 += rblock) {
      const int nb = int(std::min(rblock, n_ - r0));
      gemm(ctx, Transpose::No, Transpose::Yes, nb, mq, dim_, 1.0f, rows_.f32() + r0 * dim_, q.f32(), 0.0f, dots.f32());
      sqdist_topk(ctx, dots.f32(), qn.f32(), rnorm.f32() + r0, mq, nb, k, r0, best.f32(), best_idx.as<int32_t>());
    }
    copy_to_host(ctx, r.value.data() + q0 * k, best.raw(), size_t(mq) * k * sizeof(float));
    copy_to_host(ctx, r.index.data() + q0 * k, best_idx.raw(), size_t(mq) * k * sizeof(int32_t));
  }
  return r;
}

std::vector<float> knn_radii_sq(Context& ctx, const FeatureSet& s, int k) {
  DG_REQUIRE(s.n > k, "k-NN radii: need more than k = ", k, " rows, got ", s.n);
  const NeighbourIndex idx(ctx, s.data.data(), s.n, s.dim);
  // The k + 1 smallest include the row itself (distance 0, up to rounding); the (k + 1)-th is the k-th nearest other
  // row, also when the set holds exact duplicates.
  const NeighbourIndex::Result r = idx.search(ctx, s.data.data(), s.n, k + 1);
  std::vector<float> radii(static_cast<size_t>(s.n));
  for (int64_t i = 0; i < s.n; ++i) radii[size_t(i)] = std::max(0.0f, r.value[size_t(i) * (k + 1) + k]);
  return radii;
}

namespace {

// Share of `queries` rows within the radius of at least one `refs` row: min_r (|q - r|^2 - radius_r^2) <= 0.
double share_inside(Context& ctx, const FeatureSet& queries, const FeatureSet& refs, const std::vector<float>& radii_sq) {
  const NeighbourIndex idx(ctx, refs.data.data(), refs.n, refs.dim);
  const NeighbourIndex::Result r = idx.search(ctx, queries.data.data(), queries.n, 1, &radii_sq);
  int64_t inside = 0;
  for (int64_t i = 0; i < queries.n; ++i) inside += r.value[size_t(i)] <= 0.0f;
  return double(inside) / double(queries.n);
}

}  // namespace

PrecisionRecall precision_recall(Context& ctx, const FeatureSet& real, const FeatureSet& fake, int k) {
  DG_REQUIRE(real.dim == fake.dim, "precision/recall: feature sizes differ (", real.dim, " and ", fake.dim, ")");
  PrecisionRecall pr;
  pr.precision = share_inside(ctx, fake, real, knn_radii_sq(ctx, real, k));
  pr.recall = share_inside(ctx, real, fake, knn_radii_sq(ctx, fake, k));
  return pr;
}

double quantile(std::vector<double> v, double q) {
  DG_REQUIRE(!v.empty(), "quantile of an empty set");
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * double(v.size() - 1);
  const size_t lo = size_t(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

namespace {

std::vector<double> nearest_distances(Context& ctx, const NeighbourIndex& train, const FeatureSet& q) {
  const NeighbourIndex::Result r = train.search(ctx, q.data.data(), q.n, 1);
  std::vector<double> d(static_cast<size_t>(q.n));
  for (int64_t i = 0; i < q.n; ++i) d[size_t(i)] = std::sqrt(std::max(0.0, double(r.value[size_t(i)])));
  return d;
}

}  // namespace

Memorization memorization(Context& ctx, const NeighbourIndex& train, const FeatureSet& samples, const FeatureSet& test,
                          double percentile) {
  DG_REQUIRE(samples.n >= 1 && test.n >= 1, "memorization: needs samples and test images (got ", samples.n, " and ",
             test.n, ")");
  Memorization m;
  const std::vector<double> td = nearest_distances(ctx, train, test);
  m.sample_distances = nearest_distances(ctx, train, samples);
  m.threshold = quantile(td, percentile);
  int64_t below = 0, test_below = 0;
  for (double d : m.sample_distances) below += d < m.threshold;
  for (double d : td) test_below += d < m.threshold;
  m.fraction = double(below) / double(samples.n);
  m.test_fraction = double(test_below) / double(test.n);
  m.median_distance = quantile(m.sample_distances, 0.5);
  m.test_median_distance = quantile(td, 0.5);
  return m;
}

}  // namespace dg
