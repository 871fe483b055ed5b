// Class histogram statistics: uniform predictions give ln 10 entropy, a collapsed set gives zero entropy and a
// zero smallest share, label agreement counts per digit.
#include <cmath>

#include "models/judge.h"
#include "runtime/error.h"
#include "tests/test_util.h"

namespace dg {
namespace {

TEST(Judge, UniformPredictionsHaveMaximalEntropy) {
  std::vector<int32_t> p;
  for (int i = 0; i < 1000; ++i) p.push_back(i % 10);
  const ClassReport r = judge_predictions(p, nullptr);
  EXPECT_NEAR(r.entropy, std::log(10.0), 1e-12);
  EXPECT_DOUBLE_EQ(r.min_share, 0.1);
  EXPECT_FALSE(r.has_labels);
}

TEST(Judge, CollapsedPredictionsShowZeroShare) {
  const std::vector<int32_t> p(500, 3);
  const ClassReport r = judge_predictions(p, nullptr);
  EXPECT_EQ(r.histogram[3], 500);
  EXPECT_DOUBLE_EQ(r.entropy, 0.0);
  EXPECT_DOUBLE_EQ(r.min_share, 0.0);
}

TEST(Judge, AgreementPerLabel) {
  const std::vector<int32_t> labels = {1, 1, 1, 1, 2, 2};
  const std::vector<int32_t> pred = {1, 1, 1, 7, 2, 5};
  const ClassReport r = judge_predictions(pred, &labels);
  EXPECT_EQ(r.agree, 4);
  EXPECT_NEAR(r.agreement(), 4.0 / 6.0, 1e-12);
  EXPECT_EQ(r.label_count[1], 4);
  EXPECT_EQ(r.label_agree[1], 3);
  EXPECT_EQ(r.label_agree[2], 1);
  EXPECT_NEAR(r.to_json()["label_agreement_per_digit"][1].get<double>(), 0.75, 1e-12);
}

TEST(Judge, RejectsMismatchedLabels) {
  const std::vector<int32_t> labels = {1};
  EXPECT_THROW(judge_predictions({1, 2}, &labels), Error);
  EXPECT_THROW(judge_predictions({11}, nullptr), Error);
}

}  // namespace
}  // namespace dg
