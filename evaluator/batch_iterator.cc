#include "evaluator/batch_iterator.h"

#include <algorithm>
#include <string>

#include "core/errors.h"

namespace hwnas {
namespace {

// Streams of the seed, one per purpose, so shuffling and augmenting never share draws.
constexpr uint64_t kShuffleStream = 0;
constexpr uint64_t kAugmentStream = 1;

}  // namespace

BatchIterator::BatchIterator(const Dataset& data, const BatchOptions& options, int64_t epoch)
    : data_(data), options_(options), epoch_(epoch) {
  if (options.batch_size < 1) {
    throw ConfigError("batch size must be at least 1, got " + std::to_string(options.batch_size));
  }
  const Rng root(options.seed);
  order_ = ShuffledIndices(data.size(), root.Fork(kShuffleStream).Fork(epoch));
}

int64_t BatchIterator::num_batches() const {
  const int64_t n = data_.size();
  const int64_t b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> BatchIterator::Rows(int64_t index) const {
  HWNAS_CHECK(index >= 0 && index < num_batches());
  const auto begin = order_.begin() + index * options_.batch_size;
  const auto end = order_.begin() + std::min((index + 1) * options_.batch_size, data_.size());
  return std::vector<int64_t>(begin, end);
}

Batch BatchIterator::At(int64_t index) const {
  Dataset batch = Subset(data_, Rows(index));
  if (options_.augment.enabled()) {
    const Rng rng = Rng(options_.seed).Fork(kAugmentStream).Fork(epoch_).Fork(index);
    AugmentBatch(options_.augment, data_.shape, rng, batch.images);
  }
  return {std::move(batch.images), std::move(batch.labels)};
}

bool BatchIterator::Next(Batch& batch) {
  if (next_ == num_batches()) return false;
  batch = At(next_++);
  return true;
}

}  // namespace hwnas
