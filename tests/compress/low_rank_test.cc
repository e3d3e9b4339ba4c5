#include "compress/low_rank.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "compress_test_util.h"

namespace hwnas {
namespace {

using test::RandomWeights;

// rows x cols with exactly the singular values `s` (U, V orthonormal from QR of random matrices).
WeightMatrix WithSingularValues(int rows, int cols, const std::vector<double>& s, uint64_t seed) {
  const int k = static_cast<int>(s.size());
  auto orthonormal = [](int n, int k, uint64_t seed) {
    const Eigen::MatrixXd random = RandomWeights(n, k, seed).cast<double>();
    return Eigen::MatrixXd(random.householderQr().householderQ() * Eigen::MatrixXd::Identity(n, k));
  };
  const Eigen::VectorXd sigma = Eigen::Map<const Eigen::VectorXd>(s.data(), k);
  return (orthonormal(rows, k, seed) * sigma.asDiagonal() *
          orthonormal(cols, k, seed + 1).transpose())
      .cast<float>();
}

double Discarded(const Eigen::VectorXf& singular_values, int rank) {
  return singular_values.tail(singular_values.size() - rank).cast<double>().squaredNorm();
}

TEST(CompressLowRank, ErrorIsTheDiscardedSingularValues) {
  // Eckart-Young: the truncated SVD misses by exactly the singular values it drops.
  for (auto [rows, cols] : {std::pair{40, 90}, {16, 8 * 9}, {64, 24}}) {
    const WeightMatrix w = RandomWeights(rows, cols, rows + cols);
    const int full = std::min(rows, cols);
    for (int rank : {1, 3, full / 2, full - 1, full}) {
      SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols) + " rank " +
                   std::to_string(rank));
      const LowRankFactors f = LowRankFactorize(w, rank);
      ASSERT_EQ(f.rank(), rank);
      ASSERT_EQ(f.singular_values.size(), full);
      const double error = (w.cast<double>() - f.Reconstruct().cast<double>()).norm();
      const double expected = std::sqrt(Discarded(f.singular_values, rank));
      EXPECT_NEAR(error, expected, 1e-5 * w.norm());
      EXPECT_NEAR(std::sqrt(f.report.squared_error), expected, 1e-5 * w.norm());
      const double total = f.singular_values.cast<double>().squaredNorm();
      EXPECT_NEAR(f.report.kept_energy(), 1 - Discarded(f.singular_values, rank) / total, 1e-5);
      EXPECT_EQ(f.report.params_before, rows * cols);
      EXPECT_EQ(f.report.params_after, rank * (rows + cols));
    }
  }
}

TEST(CompressLowRank, SingularValuesMatchAnIndependentDoubleSvd) {
  const WeightMatrix w = RandomWeights(30, 50, 3);
  const Eigen::JacobiSVD<Eigen::MatrixXd> reference(w.cast<double>());
  const LowRankFactors f = LowRankFactorize(w, 5);
  EXPECT_LT((f.singular_values.cast<double>() - reference.singularValues()).norm(),
            1e-5 * reference.singularValues()(0));
}

TEST(CompressLowRank, FactorisedLayersComputeTheReconstructedLayer) {
  // Linear 64 -> 48 at rank 12: x -> first (12 x 64) -> second (48 x 12).
  const WeightMatrix linear = RandomWeights(48, 64, 4);
  const LowRankFactors lf = LowRankFactorize(linear, 12);
  ASSERT_EQ(lf.first.rows(), 12);
  ASSERT_EQ(lf.first.cols(), 64);
  ASSERT_EQ(lf.second.rows(), 48);
  ASSERT_EQ(lf.second.cols(), 12);
  const Eigen::MatrixXf x = RandomWeights(64, 10, 5);
  const Eigen::MatrixXf expected = lf.Reconstruct() * x;
  EXPECT_LT((lf.second * (lf.first * x) - expected).cwiseAbs().maxCoeff(),
            1e-5f * expected.cwiseAbs().maxCoeff());

  // Conv 4 -> 8 (3x3) at rank 3: a 3x3 conv 4 -> 3, then a 1x1 conv 3 -> 8.
  const WeightMatrix conv = RandomWeights(8, 4 * 9, 6);
  const LowRankFactors cf = LowRankFactorize(conv, 3);
  ASSERT_EQ(cf.first.rows(), 3);
  ASSERT_EQ(cf.first.cols(), 4 * 9);
  ASSERT_EQ(cf.second.rows(), 8);
  ASSERT_EQ(cf.second.cols(), 3);
  const Eigen::MatrixXf input = RandomWeights(4, 7 * 7, 7);
  const Eigen::MatrixXf thin = test::Conv(cf.first, input, 7, 7, 3);  // 3 x (5*5)
  const Eigen::MatrixXf two_layers = test::Conv(cf.second, thin, 5, 5, 1);
  const Eigen::MatrixXf one_layer = test::Conv(cf.Reconstruct(), input, 7, 7, 3);
  EXPECT_LT((two_layers - one_layer).cwiseAbs().maxCoeff(),
            1e-5f * one_layer.cwiseAbs().maxCoeff());
  // And it is the conv's best rank-3 approximation.
  EXPECT_NEAR((conv - cf.Reconstruct()).norm(), std::sqrt(Discarded(cf.singular_values, 3)),
              1e-5 * conv.norm());
}

TEST(CompressLowRank, EnergyThresholdPicksTheSmallestSufficientRank) {
  // Squares 100, 25, 9, 1, 0.25 of 135.25: cumulative shares 0.739, 0.924, 0.991, 0.998, 1.
  const std::vector<double> s = {10, 5, 3, 1, 0.5};
  const Eigen::VectorXf sigma = Eigen::Map<const Eigen::VectorXd>(s.data(), 5).cast<float>();
  for (auto [threshold, rank] : {std::pair{0.5, 1},
                                 {0.739, 1},
                                 {0.74, 2},
                                 {0.9, 2},
                                 {0.95, 3},
                                 {0.995, 4},
                                 {0.999, 5},
                                 {1.0, 5}}) {
    EXPECT_EQ(RankForEnergy(sigma, threshold), rank) << threshold;
  }
  // Smallest: rank r meets the threshold and r - 1 does not.
  const double total = 135.25;
  auto kept = [&](int r) { return sigma.head(r).cast<double>().squaredNorm(); };
  for (int percent = 1; percent <= 100; ++percent) {
    const double threshold = percent / 100.0;
    const int r = RankForEnergy(sigma, threshold);
    EXPECT_GE(kept(r), threshold * total - 1e-9) << threshold;
    if (r > 1) {
      EXPECT_LT(kept(r - 1), threshold * total) << threshold;
    }
  }
  // Through the SVD of a matrix with those singular values.
  const WeightMatrix w = WithSingularValues(12, 20, s, 8);
  const LowRankFactors f = LowRankFactorizeByEnergy(w, 0.95);
  EXPECT_EQ(f.rank(), 3);
  EXPECT_NEAR(f.report.kept_energy(), 134 / 135.25, 1e-5);
  EXPECT_NEAR(std::sqrt(f.report.squared_error), std::sqrt(1.25), 1e-5);
}

TEST(CompressLowRank, RatioOfFullRank) {
  EXPECT_EQ(RankForRatio(0.25, 256), 64);
  EXPECT_EQ(RankForRatio(1.0, 256), 256);
  EXPECT_EQ(RankForRatio(0.001, 64), 1);  // never zero
  EXPECT_EQ(RankForRatio(0.5, 3), 2);
  const WeightMatrix w = RandomWeights(16, 72, 9);
  EXPECT_EQ(LowRankFactorizeByRatio(w, 0.25).rank(), 4);
  EXPECT_EQ(LowRankFactorizeByRatio(w, 1.0).rank(), 16);
}

}  // namespace
}  // namespace hwnas
