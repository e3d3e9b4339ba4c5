// The batches of one epoch over a data set: examples shuffled by (seed, epoch), cut into batches,
// each augmented with a stream forked by (seed, epoch, batch index). A batch is a function of
// those alone, so training gives the same batches at any thread count and in any order of
// building them.
#pragma once

#include <cstdint>
#include <vector>

#include "evaluator/augmentation.h"
#include "evaluator/dataset.h"

namespace hwnas {

struct BatchOptions {
  int64_t batch_size = 128;
  bool drop_last = false;  // drop the last batch when it is short
  uint64_t seed = 0;
  AugmentOptions augment;  // none by default, as for validation and test
};

struct Batch {
  ImageMatrix images;  // B x shape.size()
  std::vector<int> labels;
};

class BatchIterator {
 public:
  // `data` is kept by reference and must outlive the iterator. Throws ConfigError for a batch
  // size below 1.
  BatchIterator(const Dataset& data, const BatchOptions& options, int64_t epoch);

  int64_t num_batches() const;
  // Batch `index` of the epoch, built independently of every other: safe to call from
  // concurrent threads.
  Batch At(int64_t index) const;
  // The data set rows batch `index` holds, in its order.
  std::vector<int64_t> Rows(int64_t index) const;
  // The next batch in order; false once the epoch is done.
  bool Next(Batch& batch);

 private:
  const Dataset& data_;
  BatchOptions options_;
  int64_t epoch_;
  std::vector<int64_t> order_;
  int64_t next_ = 0;
};

}  // namespace hwnas
