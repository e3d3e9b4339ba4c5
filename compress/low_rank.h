// Low-rank factorisation by truncated SVD. A weight matrix W (linear: out x in; conv:
// Cout x (Cin*k*k)) is replaced by the product of two thinner ones, W ~ second * first:
//
//   first   r x in         (conv: r x (Cin*k*k), a k x k conv with r output channels)
//   second  out x r        (conv: Cout x r, a 1 x 1 conv), which keeps the layer's bias
//
// With W = U S V^T, first = sqrt(S_r) V_r^T and second = U_r sqrt(S_r): splitting S evenly keeps
// both factors on the same scale for fine-tuning. By Eckart-Young this is the best rank-r
// approximation in the Frobenius norm, with error sqrt(sum of the discarded s_i^2). It saves
// parameters only when r (out + in) < out * in.
#pragma once

#include "compress/compression_report.h"
#include "compress/weight_matrix.h"

namespace hwnas {

struct LowRankFactors {
  WeightMatrix first;               // r x in
  WeightMatrix second;              // out x r
  Eigen::VectorXf singular_values;  // all min(out, in) of them, descending
  CompressionReport report;         // kept_energy() = sum of the kept s_i^2 / sum of all

  int rank() const { return static_cast<int>(first.rows()); }
  WeightMatrix Reconstruct() const { return second * first; }
};

// r = round(ratio * full_rank), at least 1; ratio in (0, 1].
int RankForRatio(double ratio, int full_rank);
// The smallest r whose leading s_1^2 + ... + s_r^2 >= threshold * (sum of all s_i^2);
// threshold in (0, 1], singular values descending.
int RankForEnergy(const Eigen::VectorXf& singular_values, double threshold);

// rank in [1, min(out, in)].
LowRankFactors LowRankFactorize(ConstWeightRef weights, int rank);
LowRankFactors LowRankFactorizeByRatio(ConstWeightRef weights, double ratio);
LowRankFactors LowRankFactorizeByEnergy(ConstWeightRef weights, double threshold);

}  // namespace hwnas
