#include "compress/low_rank.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "compress/checks.h"

namespace hwnas {

namespace {

constexpr const char* kWhat = "low rank";

// Divide and conquer: Eigen's SVD for matrices past a few dozen columns (Jacobi is quadratic per
// sweep).
using Svd = Eigen::BDCSVD<Eigen::MatrixXf>;

// min(out, in) of non-empty weights. Arguments are checked before the SVD, the slow part.
int FullRank(ConstWeightRef weights) {
  compress_checks::CheckNotEmpty(kWhat, "weights", weights.rows(), weights.cols());
  return static_cast<int>(std::min(weights.rows(), weights.cols()));
}

Svd Decompose(ConstWeightRef weights) {
  return Svd(weights, Eigen::ComputeThinU | Eigen::ComputeThinV);
}

LowRankFactors Truncate(ConstWeightRef weights, const Svd& svd, int rank) {
  const Eigen::VectorXf root = svd.singularValues().head(rank).cwiseSqrt();
  LowRankFactors factors;
  factors.first = root.asDiagonal() * svd.matrixV().leftCols(rank).transpose();
  factors.second = svd.matrixU().leftCols(rank) * root.asDiagonal();
  factors.singular_values = svd.singularValues();
  factors.report =
      CompareWeights(weights, factors.Reconstruct(), rank * (weights.rows() + weights.cols()));
  return factors;
}

}  // namespace

int RankForRatio(double ratio, int full_rank) {
  compress_checks::CheckPositiveShare(kWhat, "ratio", ratio);
  compress_checks::CheckAtLeast(kWhat, "full rank", full_rank, 1);
  return std::max(1, static_cast<int>(std::lround(ratio * full_rank)));
}

int RankForEnergy(const Eigen::VectorXf& singular_values, double threshold) {
  compress_checks::CheckPositiveShare(kWhat, "energy threshold", threshold);
  compress_checks::CheckNotEmpty(kWhat, "singular values", singular_values.size(), 1);
  const Eigen::VectorXd energy = singular_values.cast<double>().array().square();
  // The total is the last partial sum, so threshold 1 is met exactly at full rank.
  std::vector<double> cumulative(energy.size());
  std::partial_sum(energy.begin(), energy.end(), cumulative.begin());
  const double needed = threshold * cumulative.back();
  const auto at =
      std::find_if(cumulative.begin(), cumulative.end(), [&](double sum) { return sum >= needed; });
  return static_cast<int>(at - cumulative.begin()) + 1;
}

LowRankFactors LowRankFactorize(ConstWeightRef weights, int rank) {
  compress_checks::CheckInRange(kWhat, "rank", rank, 1, FullRank(weights));
  return Truncate(weights, Decompose(weights), rank);
}

LowRankFactors LowRankFactorizeByRatio(ConstWeightRef weights, double ratio) {
  const int rank = RankForRatio(ratio, FullRank(weights));
  return Truncate(weights, Decompose(weights), rank);
}

LowRankFactors LowRankFactorizeByEnergy(ConstWeightRef weights, double threshold) {
  compress_checks::CheckPositiveShare(kWhat, "energy threshold", threshold);
  compress_checks::CheckNotEmpty(kWhat, "weights", weights.rows(), weights.cols());
  const Svd svd = Decompose(weights);
  return Truncate(weights, svd, RankForEnergy(svd.singularValues(), threshold));
}

}  // namespace hwnas
