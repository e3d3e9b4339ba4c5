// The three splits a search works with. The labelled training images are split into train (what
// proxies are fitted on) and validation (what candidates are ranked by), stratified by class and
// seeded; the test images are held apart for the final report, reachable only through
// final_test(). All three are normalised with the train split's statistics.
#pragma once

#include <cstdint>
#include <vector>

#include "evaluator/dataset.h"
#include "evaluator/normalization.h"

namespace hwnas {

struct SplitIndices {
  std::vector<int64_t> train;       // ascending
  std::vector<int64_t> validation;  // ascending
};

// Every class gives the validation split its share of `validation_size` (to within one
// example); which examples is drawn by `seed`, the same on every platform. Throws ConfigError
// unless 0 < validation_size < labels.size().
SplitIndices StratifiedSplit(const std::vector<int>& labels, int64_t validation_size,
                             uint64_t seed);

struct SplitOptions {
  int64_t validation_size = 10000;
  uint64_t seed = 0;
};

class DataSplits {
 public:
  DataSplits(TrainTestSets sets, const SplitOptions& options);

  const Dataset& train() const { return train_; }
  const Dataset& validation() const { return validation_; }
  // For final reports only: never for choosing candidates, epochs or hyperparameters.
  const Dataset& final_test() const { return test_; }
  const ChannelStats& stats() const { return stats_; }

 private:
  Dataset train_;
  Dataset validation_;
  Dataset test_;
  ChannelStats stats_;
};

}  // namespace hwnas
