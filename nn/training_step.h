// One optimisation step of a network on a batch: forward, loss, backward, optimizer step.
#pragma once

#include <span>

#include "nn/optimizer.h"
#include "nn/sequential.h"

namespace hwnas {

struct StepResult {
  double loss = 0;
  int correct = 0;  // of the batch, before the step
};

StepResult TrainStep(Sequential& network, Optimizer& optimizer, Tensor images,
                     std::span<const int> labels);

struct DistillOptions {
  double alpha = 0.5;        // weight of the hard-label loss
  double temperature = 4.0;  // softening of both networks' outputs
};

// The teacher runs in evaluation mode and is not changed; the student learns from the
// labels and the teacher's softened outputs (nn/loss.h DistillationLoss).
StepResult DistillStep(Sequential& student, Sequential& teacher, Optimizer& optimizer,
                       const Tensor& images, std::span<const int> labels,
                       const DistillOptions& options);

// The same with the teacher's logits for the batch given (precomputed once for a data set).
StepResult DistillStepFromLogits(Sequential& student, Optimizer& optimizer, Tensor images,
                                 const Tensor& teacher_logits, std::span<const int> labels,
                                 const DistillOptions& options);

}  // namespace hwnas
