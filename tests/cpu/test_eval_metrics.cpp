// Evaluation statistics against known answers: identical sets give Frechet distance and KID near zero, Gaussians give
// the closed-form Frechet distance, a collapsed set has low recall, copies of training rows are flagged as
// memorized, and the Philox subsets are distinct, repeatable and independent across selections.
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "models/eval_metrics.h"
#include "runtime/error.h"
#include "tests/test_util.h"

namespace dg {
namespace {

// n rows of a Gaussian with per-dimension means and standard deviations, rotated by q (dim x dim, may be empty).
FeatureSet gaussian_rows(int64_t n, const std::vector<double>& mean, const std::vector<double>& sd, uint32_t seed,
                         const Eigen::MatrixXd& q = Eigen::MatrixXd()) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd;
  const int d = int(mean.size());
  FeatureSet s;
  s.n = n;
  s.dim = d;
  s.data.resize(size_t(n) * d);
  Eigen::VectorXd x(d);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x(j) = sd[size_t(j)] * nd(gen);
    if (q.size()) x = q * x;
    for (int j = 0; j < d; ++j) s.data[size_t(i) * d + j] = float(mean[size_t(j)] + x(j));
  }
  return s;
}

TEST(EvalMetrics, SubsetsAreDistinctRepeatableAndIndependent) {
  const std::vector<int64_t> a = eval_subset(1000, 300, 7, 1), b = eval_subset(1000, 300, 7, 1);
  const std::vector<int64_t> c = eval_subset(1000, 300, 7, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 300u);
  for (int64_t i : a) EXPECT_TRUE(i >= 0 && i < 1000);
  EXPECT_EQ(eval_subset(5, 5, 1, 1).size(), 5u);
  EXPECT_THROW(eval_subset(5, 6, 1, 1), Error);
}

TEST(EvalMetrics, IdenticalSetsGiveZeroFrechetDistanceAndKid) {
  Context ctx(Device::CPU);
  const FeatureSet a = gaussian_rows(2000, std::vector<double>(16, 0.5), std::vector<double>(16, 1.0), 1);
  const GaussianMoments m = feature_moments(a);
  EXPECT_NEAR(frechet_distance(m, m), 0.0, 1e-9);
  // KID of a set against itself (each subset the whole set): zero up to the O(1/n) bias of comparing a row with
  // itself; against an independent draw of the same distribution: zero within its standard error; a shifted copy is
  // far from both.
  const KidResult same = kernel_inception_distance(ctx, a, a, 2, 2000, 1);
  const FeatureSet b = gaussian_rows(2000, std::vector<double>(16, 0.5), std::vector<double>(16, 1.0), 2);
  const KidResult twin = kernel_inception_distance(ctx, a, b, 10, 500, 1);
  FeatureSet shifted = a;
  for (float& v : shifted.data) v += 0.5f;
  const KidResult far = kernel_inception_distance(ctx, a, shifted, 10, 500, 1);
  std::printf("KID: same set %.5f, independent draw %.5f +- %.5f, shifted %.5f +- %.5f\n", same.mean, twin.mean,
              twin.std_error, far.mean, far.std_error);
  EXPECT_LT(std::fabs(same.mean), 0.01 * far.mean);
  EXPECT_LT(std::fabs(twin.mean), 3 * twin.std_error + 0.01 * far.mean);
  EXPECT_GT(far.mean, 10 * far.std_error);
  EXPECT_EQ(twin.subsets, 10);
  EXPECT_EQ(twin.subset_size, 500);
  EXPECT_EQ(same.subset_size, 2000);
}

TEST(EvalMetrics, GaussiansGiveTheClosedFormFrechetDistance) {
  // Exact moments: covariances Q diag(s) Q^T sharing a rotation Q commute, so the distance is
  // |m1 - m2|^2 + sum (sqrt(s1) - sqrt(s2))^2; a random Q exercises the full eigendecomposition path.
  const int d = 6;
  std::mt19937 gen(3);
  std::normal_distribution<double> nd;
  Eigen::MatrixXd g(d, d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) g(i, j) = nd(gen);
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ();
  Eigen::VectorXd s1(d), s2(d);
  s1 << 1, 2, 3, 0.5, 4, 0.1;
  s2 << 2, 2, 1, 0.25, 9, 0.3;
  GaussianMoments a, b;
  a.mean = Eigen::VectorXd::LinSpaced(d, 0, 1);
  b.mean = Eigen::VectorXd::Constant(d, 0.3);
  a.cov = q * s1.asDiagonal() * q.transpose();
  b.cov = q * s2.asDiagonal() * q.transpose();
  const double closed = (a.mean - b.mean).squaredNorm() + (s1.cwiseSqrt() - s2.cwiseSqrt()).squaredNorm();
  EXPECT_NEAR(frechet_distance(a, b), closed, 1e-9 * closed);
  EXPECT_NEAR(frechet_distance(b, a), closed, 1e-9 * closed);
  // Sampled: 20000 draws of each, within the sampling error of a few percent.
  const std::vector<double> m1 = {0, 0, 0, 0}, m2 = {1, 0, -1, 0}, sd1 = {1, 1, 2, 0.5}, sd2 = {2, 1, 1, 0.5};
  const double expect = 2.0 + 1.0 + 1.0;  // |m1 - m2|^2 = 2, (1 - 2)^2 + (2 - 1)^2 = 2
  const double fd = frechet_distance(feature_moments(gaussian_rows(20000, m1, sd1, 5)),
                                     feature_moments(gaussian_rows(20000, m2, sd2, 6)));
  EXPECT_NEAR(fd, expect, 0.05 * expect);
}

TEST(EvalMetrics, CollapsedSetHasLowRecallAndMatchingSetHasBoth) {
  Context ctx(Device::CPU);
  const std::vector<double> mean(8, 0.0), sd(8, 1.0);
  const FeatureSet real = gaussian_rows(1000, mean, sd, 1), fake = gaussian_rows(1000, mean, sd, 2);
  const PrecisionRecall good = precision_recall(ctx, real, fake, 3);
  EXPECT_GT(good.precision, 0.8);
  EXPECT_GT(good.recall, 0.8);
  // Collapse: every fake row is one of three real rows (plus a little jitter): precise, but it covers almost nothing.
  FeatureSet collapsed = fake;
  std::mt19937 gen(9);
  std::normal_distribution<float> jitter(0.0f, 1e-3f);
  for (int64_t i = 0; i < collapsed.n; ++i)
    for (int j = 0; j < 8; ++j) collapsed.data[size_t(i) * 8 + j] = real.row(i % 3)[j] + jitter(gen);
  const PrecisionRecall bad = precision_recall(ctx, real, collapsed, 3);
  EXPECT_GT(bad.precision, 0.99);
  EXPECT_LT(bad.recall, 0.02);
}

TEST(EvalMetrics, NearestNeighboursMatchBruteForceWithDuplicates) {
  Context ctx(Device::CPU);
  FeatureSet s = gaussian_rows(300, std::vector<double>(5, 0.0), std::vector<double>(5, 1.0), 4);
  std::copy_n(s.row(0), 5, s.data.data() + 5 * 7);  // row 7 duplicates row 0
  const std::vector<float> r = knn_radii_sq(ctx, s, 3);
  for (int64_t i : {int64_t(0), int64_t(7), int64_t(100)}) {
    std::vector<double> d;
    for (int64_t j = 0; j < s.n; ++j) {
      if (j == i) continue;
      double t = 0;
      for (int c = 0; c < 5; ++c) t += std::pow(double(s.row(i)[c]) - s.row(j)[c], 2);
      d.push_back(t);
    }
    std::sort(d.begin(), d.end());
    EXPECT_NEAR(r[size_t(i)], d[2], 1e-4) << "row " << i;
  }
}

TEST(EvalMetrics, CopiedTrainingRowsAreMemorized) {
  Context ctx(Device::CPU);
  const int d = 784;
  FeatureSet train = gaussian_rows(3000, std::vector<double>(d, 0.5), std::vector<double>(d, 0.2), 1);
  const FeatureSet test = gaussian_rows(500, std::vector<double>(d, 0.5), std::vector<double>(d, 0.2), 2);
  const NeighbourIndex index(ctx, train.data.data(), train.n, d);
  // 200 copies of training rows, 200 fresh rows.
  FeatureSet samples = take_rows(train, eval_subset(train.n, 200, 1, 1));
  const Memorization copied = memorization(ctx, index, samples, test);
  EXPECT_DOUBLE_EQ(copied.fraction, 1.0);
  EXPECT_LT(copied.median_distance, 1e-2);
  EXPECT_NEAR(copied.test_fraction, 0.01, 0.005);
  const Memorization fresh =
      memorization(ctx, index, gaussian_rows(200, std::vector<double>(d, 0.5), std::vector<double>(d, 0.2), 3), test);
  EXPECT_LT(fresh.fraction, 0.05);
  EXPECT_NEAR(quantile({1, 2, 3, 4, 5}, 0.5), 3.0, 1e-12);
  EXPECT_NEAR(quantile({1, 2}, 0.25), 1.25, 1e-12);
}

}  // namespace
}  // namespace dg
