// Training and testing a network on a data set: SGD with momentum under a one-cycle schedule,
// batches from BatchIterator, and top-1 accuracy.
#pragma once

#include <functional>

#include "evaluator/batch_iterator.h"
#include "nn/sequential.h"

namespace hwnas {

// Rows of `images` as an N x C x H x W tensor.
Tensor ToTensor(const ImageMatrix& images, const ImageShape& shape);

struct TrainOptions {
  int epochs = 1;
  int64_t batch_size = 128;
  double peak_learning_rate = 0.1;  // one-cycle peak
  double weight_decay = 5e-4;
  uint64_t seed = 0;  // batch order and augmentation
  AugmentOptions augment;
};

struct TrainReport {
  int64_t steps = 0;
  double seconds = 0;
  double last_epoch_loss = 0;      // mean over its batches
  double last_epoch_accuracy = 0;  // on the training batches, in [0, 1]
};

// Called after every step with the steps done and the total.
using TrainProgress = std::function<void(int64_t done, int64_t total)>;

TrainReport Train(Sequential& network, const Dataset& data, const TrainOptions& options,
                  const TrainProgress& progress = {});

// Top-1 accuracy in [0, 1], in evaluation mode.
double Accuracy(Sequential& network, const Dataset& data, int64_t batch_size = 500);

}  // namespace hwnas
