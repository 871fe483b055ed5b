// The statistics behind `digitgen eval`, on host arrays so they can be tested against known answers: Philox subsets,
// Gaussian moments and the Frechet distance (Eigen eigendecompositions), the kernel distance (KID, cubic polynomial
// kernel) over subsets, k-NN precision and recall, and nearest-neighbour search on the device (GEMM blocks merged by
// the sqdist_topk op) for the memorization check. Features are row-major [n, dim] floats.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace dg {

// Rows of feature vectors (or flattened images), host memory.
struct FeatureSet {
  int64_t n = 0;
  int dim = 0;
  std::vector<float> data;  // [n, dim]
  const float* row(int64_t i) const { return data.data() + i * dim; }
};

// m distinct indices of 0..n-1 in drawing order: the first m steps of a Fisher-Yates shuffle drawn from
// Philox(seed, kPurposeEvalSubset, position, selection). Different `selection` values give independent subsets.
std::vector<int64_t> eval_subset(int64_t n, int64_t m, uint64_t seed, uint32_t selection);
FeatureSet take_rows(const FeatureSet& s, const std::vector<int64_t>& rows);

// Mean and covariance (divided by n - 1) in double.
struct GaussianMoments {
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
};
GaussianMoments feature_moments(const FeatureSet& s);
// |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr sqrt(C1^1/2 C2 C1^1/2): both square roots from symmetric eigendecompositions
// (negative eigenvalues of rounding clipped to 0).
double frechet_distance(const GaussianMoments& a, const GaussianMoments& b);

// Unbiased MMD^2 with the kernel k(x, y) = (x.y / dim + 1)^3, averaged over `subsets` pairs of random subsets of
// `subset_size` rows (fewer when a set is smaller); Gram matrices by GEMM on the context's device.
struct KidResult {
  double mean = 0;
  double subset_std = 0;  // standard deviation of the per-subset values
  double std_error = 0;   // subset_std / sqrt(subsets)
  int subsets = 0;
  int64_t subset_size = 0;
};
KidResult kernel_inception_distance(Context& ctx, const FeatureSet& a, const FeatureSet& b, int subsets,
                                    int64_t subset_size, uint64_t seed);

// A reference set resident on the context's device with its squared row norms; search() finds each query's k
// smallest squared distances (or, with per-reference offsets, k smallest |q - r|^2 - offset_r) by GEMM blocks.
class NeighbourIndex {
 public:
  NeighbourIndex(Context& ctx, const float* rows, int64_t n, int dim);
  int64_t size() const { return n_; }
  struct Result {
    int k = 0;
    std::vector<float> value;     // [M, k] ascending
    std::vector<int32_t> index;   // [M, k]
  };
  // `subtract` (n entries, may be null) is subtracted from every distance to the matching reference.
  Result search(Context& ctx, const float* queries, int64_t M, int k, const std::vector<float>* subtract = nullptr) const;

 private:
  int64_t n_;
  int dim_;
  Tensor rows_, norms_;  // [n, dim], [n]
};

// Squared distance of each row to its k-th nearest other row of the same set.
std::vector<float> knn_radii_sq(Context& ctx, const FeatureSet& s, int k);
// Precision: share of `fake` rows inside the union of balls around `real` rows with their k-NN radii; recall: share of
// `real` rows inside the balls around `fake` rows (Kynkaanniemi et al. 2019).
struct PrecisionRecall {
  double precision = 0, recall = 0;
};
PrecisionRecall precision_recall(Context& ctx, const FeatureSet& real, const FeatureSet& fake, int k);

// Linear-interpolated quantile q in [0, 1] of the values (sorted copy).
double quantile(std::vector<double> v, double q);

// Memorization: each sample's pixel distance to its nearest training image; the threshold is the `percentile`
// quantile of the test images' nearest-training distances, and `fraction` the share of samples strictly closer.
struct Memorization {
  double threshold = 0;
  double fraction = 0;
  double test_fraction = 0;       // the same share for the test images themselves (about `percentile`)
  double median_distance = 0;     // the samples' median nearest-training distance
  double test_median_distance = 0;
  std::vector<double> sample_distances;  // [n]
};
Memorization memorization(Context& ctx, const NeighbourIndex& train, const FeatureSet& samples, const FeatureSet& test,
                          double percentile = 0.01);

}  // namespace dg
