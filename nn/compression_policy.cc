#include "nn/compression_policy.h"

#include "compress/prune.h"
#include "core/errors.h"

namespace hwnas {

namespace {

std::optional<PruneResult> Prune(ConstRowMap weights, const LayerPolicy& policy) {
  switch (policy.pattern) {
    case SparsityPattern::kNone: return std::nullopt;
    case SparsityPattern::kUnstructured: return MagnitudePrune(weights, policy.sparsity);
    case SparsityPattern::kNofM: return NofMPrune(weights, policy.n_of_m_n, policy.n_of_m_m);
    case SparsityPattern::kChannel: {
      // Training keeps the shape: the removed channels become zero rows.
      const ChannelPruneResult removed = ChannelPrune(weights, policy.sparsity);
      WeightMatrix keep = WeightMatrix::Zero(weights.rows(), weights.cols());
      for (int row : removed.kept) keep.row(row).setOnes();
      return PruneResult{Mask(std::move(keep)), removed.report};
    }
  }
  HWNAS_CHECK(false);
}

}  // namespace

CompressionReport ApplyWeightPolicy(const CompressibleLayer& layer, const LayerPolicy& policy) {
  WeightCompression& compression = *layer.compression;
  compression.SetMask(std::nullopt, *layer.weight, layer.rows, layer.cols);
  const ConstRowMap weights(layer.weight->value.data(), layer.rows, layer.cols);
  const WeightMatrix original = weights;
  if (policy.sparsity > 0 || policy.pattern == SparsityPattern::kNofM) {
    if (auto pruned = Prune(weights, policy)) {
      compression.SetMask(std::move(pruned->mask), *layer.weight, layer.rows, layer.cols);
    }
  }
  compression.SetQuantization(std::nullopt);
  if (policy.w_bits < 32) {
    compression.SetQuantization(QuantConfig{.bits = policy.w_bits,
                                            .scheme = QuantScheme::kSymmetric,
                                            .granularity = QuantGranularity::kPerChannel});
  }
  const ConstRowMap effective = compression.Effective(*layer.weight, layer.rows, layer.cols);
  int64_t stored = 0;
  for (Eigen::Index i = 0; i < effective.size(); ++i) stored += effective.data()[i] != 0.0f;
  return CompareWeights(original, effective, stored);
}

}  // namespace hwnas
