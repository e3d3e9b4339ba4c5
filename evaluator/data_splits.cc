#include "evaluator/data_splits.h"

#include <algorithm>
#include <string>

#include "core/errors.h"

namespace hwnas {

SplitIndices StratifiedSplit(const std::vector<int>& labels, int64_t validation_size,
                             uint64_t seed) {
  const auto n = static_cast<int64_t>(labels.size());
  if (validation_size <= 0 || validation_size >= n) {
    throw ConfigError("validation size " + std::to_string(validation_size) + " must be in 1.." +
                      std::to_string(n - 1) + " (the training set has " + std::to_string(n) +
                      " examples)");
  }
  // Shuffle, group by class keeping the shuffled order, then take evenly spaced positions:
  // each class's run of c examples holds floor or ceil of c * validation_size / n of them.
  std::vector<int64_t> order = ShuffledIndices(n, Rng(seed));
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  SplitIndices split;
  for (int64_t i = 0; i < n; ++i) {
    const bool validation = (i + 1) * validation_size / n > i * validation_size / n;
    (validation ? split.validation : split.train).push_back(order[i]);
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

DataSplits::DataSplits(TrainTestSets sets, const SplitOptions& options)
    : test_(std::move(sets.test)) {
  const SplitIndices split =
      StratifiedSplit(sets.train.labels, options.validation_size, options.seed);
  train_ = Subset(sets.train, split.train);
  validation_ = Subset(sets.train, split.validation);
  stats_ = ComputeChannelStats(train_);
  Normalize(stats_, train_);
  Normalize(stats_, validation_);
  Normalize(stats_, test_);
}

}  // namespace hwnas
