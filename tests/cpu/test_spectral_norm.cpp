// Spectral normalisation: sigma against Eigen's SVD after many power iterations, one iteration against a hand
// computation in double, evaluation (n_iter = 0), the backward against finite differences with u, v frozen,
// and the Philox initialisation of u, v.
#include <Eigen/Dense>
#include <cmath>

#include "kernels/spectral_norm.h"
#include "tests/test_util.h"

namespace dg {
namespace {

double norm(const std::vector<float>& a) { return std::sqrt(test::dot(a, a)); }

struct PowerRun {
  std::vector<float> u, v, W_sn;
  float sigma = 0;
};

constexpr uint32_t kWeightId = 3;

// The forward from freshly initialised u, v of (seed, kWeightId).
PowerRun run_forward(Context& ctx, const std::vector<float>& W, int rows, int cols, int n_iter, uint64_t seed) {
  const SpectralNormState st = spectral_norm_init(ctx, rows, cols, seed, kWeightId);
  PowerRun r{st.u.to_host(ctx), st.v.to_host(ctx), std::vector<float>(W.size()), 0.0f};
  spectral_norm_forward(ctx, W.data(), r.u.data(), r.v.data(), r.W_sn.data(), &r.sigma, rows, cols, n_iter);
  return r;
}

// Tolerance 1e-4 relative: after 50 iterations the vectors' error shrinks like (s2 / s1)^100 and sigma's like its
// square, so what is left is float rounding (about 1e-7 relative) for any of these seeds' spectral gaps.
TEST(SpectralNorm, SigmaMatchesLargestSingularValue) {
  Context ctx(Device::CPU);
  struct S { int rows, cols; };
  uint32_t seed = 1;
  for (S s : {S{7, 5}, S{5, 7}, S{16, 30}, S{32, 9}, S{1, 6}, S{6, 1}}) {
    const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols);
    const auto W = test::random_vec(size_t(s.rows) * s.cols, seed++);
    Eigen::MatrixXd M(s.rows, s.cols);
    for (int r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.cols; ++c) M(r, c) = W[size_t(r * s.cols + c)];
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(M, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const double s1 = svd.singularValues()(0);
    const PowerRun run = run_forward(ctx, W, s.rows, s.cols, 50, 7);
    EXPECT_NEAR(run.sigma, s1, 1e-4 * s1) << what;
    EXPECT_NEAR(norm(run.u), 1.0, 1e-6) << what;
    EXPECT_NEAR(norm(run.v), 1.0, 1e-6) << what;
    // The vectors are the leading singular pair, up to a common sign.
    double du = 0, dv = 0;
    for (int r = 0; r < s.rows; ++r) du += run.u[size_t(r)] * svd.matrixU()(r, 0);
    for (int c = 0; c < s.cols; ++c) dv += run.v[size_t(c)] * svd.matrixV()(c, 0);
    EXPECT_NEAR(std::fabs(du), 1.0, 1e-4) << what;
    EXPECT_NEAR(du * dv, std::fabs(du * dv), 1e-12) << what << ": u and v flip sign together";
    for (size_t i = 0; i < W.size(); ++i) EXPECT_FLOAT_EQ(run.W_sn[i], W[i] / run.sigma) << what;
  }
}

TEST(SpectralNorm, OneIterationMatchesHandComputation) {
  Context ctx(Device::CPU);
  const int rows = 4, cols = 6;
  const auto W = test::random_vec(size_t(rows) * cols, 41);
  const SpectralNormState st = spectral_norm_init(ctx, rows, cols, 9, kWeightId);
  const auto u0 = st.u.to_host(ctx);
  const PowerRun run = run_forward(ctx, W, rows, cols, 1, 9);
  std::vector<double> v(cols, 0.0), u(rows, 0.0);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) v[size_t(c)] += W[size_t(r * cols + c)] * double(u0[size_t(r)]);
  double nv = 0, nu = 0;
  for (double a : v) nv += a * a;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) u[size_t(r)] += W[size_t(r * cols + c)] * v[size_t(c)] / std::sqrt(nv);
  for (double a : u) nu += a * a;
  double sigma = 0;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      sigma += u[size_t(r)] / std::sqrt(nu) * W[size_t(r * cols + c)] * v[size_t(c)] / std::sqrt(nv);
  for (int c = 0; c < cols; ++c) EXPECT_NEAR(run.v[size_t(c)], v[size_t(c)] / std::sqrt(nv), 1e-6);
  for (int r = 0; r < rows; ++r) EXPECT_NEAR(run.u[size_t(r)], u[size_t(r)] / std::sqrt(nu), 1e-6);
  EXPECT_NEAR(run.sigma, sigma, 1e-6 * std::fabs(sigma));
}

TEST(SpectralNorm, ZeroIterationsKeepTheVectors) {
  Context ctx(Device::CPU);
  const int rows = 3, cols = 5;
  const auto W = test::random_vec(size_t(rows) * cols, 51);
  std::vector<float> u = test::random_vec(rows, 52), v = test::random_vec(cols, 53), W_sn(W.size());
  const auto u0 = u, v0 = v;
  float sigma = 0;
  spectral_norm_forward(ctx, W.data(), u.data(), v.data(), W_sn.data(), &sigma, rows, cols, 0);
  EXPECT_EQ(u, u0);
  EXPECT_EQ(v, v0);
  double s = 0;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) s += double(u[size_t(r)]) * W[size_t(r * cols + c)] * v[size_t(c)];
  EXPECT_NEAR(sigma, s, 1e-6);

  // A zero matrix keeps zero vectors instead of producing NaN (the normalisation floor).
  std::vector<float> Z(W.size(), 0.0f);
  spectral_norm_forward(ctx, Z.data(), u.data(), v.data(), W_sn.data(), &sigma, rows, cols, 1);
  for (float a : u) EXPECT_EQ(a, 0.0f);
  for (float a : v) EXPECT_EQ(a, 0.0f);
}

// L(W) = sum r * W / (u^T W v) with u, v frozen at their post-iteration values, in double. Tolerance: eps 1e-3
// on entries of size 1 gives a truncation error of eps^2 * L''' (below 1e-5 here: sigma is about 2, so W_sn's
// derivatives are small) plus the rounding of the perturbed float (relative 1e-4); the analytic gradient is float.
// atol 1e-4 + rtol 1e-3; dropping the rank-1 term changes the gradient by order 0.1 and fails.
TEST(SpectralNorm, BackwardMatchesFiniteDifferences) {
  Context ctx(Device::CPU);
  struct S { int rows, cols; };
  for (S s : {S{4, 6}, S{8, 3}, S{5, 5}}) {
    const std::string what = std::to_string(s.rows) + "x" + std::to_string(s.cols);
    const size_t n = size_t(s.rows) * s.cols;
    const auto W = test::random_vec(n, 61), r = test::random_vec(n, 62);
    const PowerRun run = run_forward(ctx, W, s.rows, s.cols, 3, 5);
    std::vector<float> dW(n, 5.0f);  // overwritten
    spectral_norm_backward(ctx, r.data(), run.W_sn.data(), run.u.data(), run.v.data(), &run.sigma, dW.data(), s.rows,
                           s.cols, Grad::Overwrite);
    auto loss = [&](const std::vector<float>& Wp) {
      double sigma = 0, l = 0;
      for (int i = 0; i < s.rows; ++i)
        for (int j = 0; j < s.cols; ++j)
          sigma += double(run.u[size_t(i)]) * Wp[size_t(i * s.cols + j)] * run.v[size_t(j)];
      for (size_t k = 0; k < n; ++k) l += double(r[k]) * Wp[k] / sigma;
      return l;
    };
    test::expect_grad_close(loss, W, dW, 1e-3, 1e-4, 1e-3, "spectral dW " + what);

    // The op's own forward with n_iter = 0 is the frozen function the differences were taken of.
    std::vector<float> u = run.u, v = run.v, W_sn(n);
    float sigma = 0;
    spectral_norm_forward(ctx, W.data(), u.data(), v.data(), W_sn.data(), &sigma, s.rows, s.cols, 0);
    EXPECT_NEAR(test::dot(W_sn, r), loss(W), 1e-5 * (1 + std::fabs(loss(W)))) << what;

    std::vector<float> acc(n, 1.0f);
    spectral_norm_backward(ctx, r.data(), run.W_sn.data(), run.u.data(), run.v.data(), &run.sigma, acc.data(), s.rows,
                           s.cols, Grad::Accumulate);
    for (size_t k = 0; k < n; ++k) EXPECT_NEAR(acc[k], 1.0f + dW[k], 1e-5) << what;
  }
}

TEST(SpectralNorm, InitIsDeterministicUnitAndPerWeight) {
  Context ctx(Device::CPU);
  const SpectralNormState a = spectral_norm_init(ctx, 5, 8, 42, 1), b = spectral_norm_init(ctx, 5, 8, 42, 1);
  const SpectralNormState c = spectral_norm_init(ctx, 5, 8, 42, 2);
  EXPECT_EQ(a.u.shape(), Shape{5});
  EXPECT_EQ(a.v.shape(), Shape{8});
  EXPECT_EQ(a.u.to_host(ctx), b.u.to_host(ctx));
  EXPECT_EQ(a.v.to_host(ctx), b.v.to_host(ctx));
  EXPECT_NE(a.u.to_host(ctx), c.u.to_host(ctx));
  EXPECT_NEAR(norm(a.u.to_host(ctx)), 1.0, 1e-6);
  EXPECT_NEAR(norm(a.v.to_host(ctx)), 1.0, 1e-6);
}

}  // namespace
}  // namespace dg
