#include "evaluator/trainer.h"

#include <chrono>

#include "core/errors.h"
#include "nn/loss.h"
#include "nn/schedule.h"
#include "nn/training_step.h"

namespace hwnas {

Tensor ToTensor(const ImageMatrix& images, const ImageShape& shape) {
  Tensor t({static_cast<int>(images.rows()), shape.channels, shape.height, shape.width});
  t.BatchMatrix() = images;
  return t;
}

TrainReport Train(Sequential& network, const Dataset& data, const TrainOptions& options,
                  const TrainProgress& progress) {
  if (options.epochs < 1 || options.batch_size < 1 || data.size() < 1) {
    throw ConfigError("training needs at least one epoch, a batch size of at least 1 and data; got " +
                      std::to_string(options.epochs) + " epochs, batch size " +
                      std::to_string(options.batch_size) + ", " + std::to_string(data.size()) +
                      " examples");
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<NamedParameter> parameters;
  network.CollectParameters("", parameters);
  auto optimizer = MakeSgd(parameters, {.learning_rate = options.peak_learning_rate,
                                        .momentum = 0.9,
                                        .weight_decay = options.weight_decay});
  const BatchOptions batching{.batch_size = options.batch_size, .seed = options.seed,
                              .augment = options.augment};
  const int64_t per_epoch = BatchIterator(data, batching, 0).num_batches();
  const int64_t total = per_epoch * options.epochs;
  const auto schedule = MakeOneCycleSchedule(options.peak_learning_rate, total);
  TrainReport report;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    BatchIterator batches(data, batching, epoch);
    double loss = 0;
    int64_t correct = 0;
    Batch batch;
    while (batches.Next(batch)) {
      schedule->Apply(report.steps, *optimizer);
      const StepResult step =
          TrainStep(network, *optimizer, ToTensor(batch.images, data.shape), batch.labels);
      loss += step.loss;
      correct += step.correct;
      ++report.steps;
      if (progress) progress(report.steps, total);
    }
    report.last_epoch_loss = loss / per_epoch;
    report.last_epoch_accuracy = static_cast<double>(correct) / data.size();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

double Accuracy(Sequential& network, const Dataset& data, int64_t batch_size) {
  if (batch_size < 1) throw ConfigError("batch size must be at least 1, got " + std::to_string(batch_size));
  int64_t correct = 0;
  for (int64_t first = 0; first < data.size(); first += batch_size) {
    const int64_t rows = std::min(batch_size, data.size() - first);
    const Tensor logits =
        network.Forward(ToTensor(data.images.middleRows(first, rows), data.shape), Mode::kEval);
    correct += CountCorrect(logits, std::span(data.labels).subspan(first, rows));
  }
  return data.size() ? static_cast<double>(correct) / data.size() : 0.0;
}

}  // namespace hwnas
