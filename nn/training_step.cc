#include "nn/training_step.h"

#include "nn/loss.h"

namespace hwnas {

namespace {

StepResult Learn(Sequential& network, Optimizer& optimizer, const Tensor& logits,
                 const LossResult& loss, std::span<const int> labels) {
  const StepResult result{loss.loss, CountCorrect(logits, labels)};
  optimizer.ZeroGrad();
  network.Backward(loss.grad);
  optimizer.Step();
  return result;
}

}  // namespace

StepResult TrainStep(Sequential& network, Optimizer& optimizer, Tensor images,
                     std::span<const int> labels) {
  const Tensor logits = network.Forward(std::move(images), Mode::kTrain);
  return Learn(network, optimizer, logits, CrossEntropy(logits, labels), labels);
}

StepResult DistillStep(Sequential& student, Sequential& teacher, Optimizer& optimizer,
                       const Tensor& images, std::span<const int> labels,
                       const DistillOptions& options) {
  return DistillStepFromLogits(student, optimizer, images, teacher.Forward(images, Mode::kEval),
                               labels, options);
}

StepResult DistillStepFromLogits(Sequential& student, Optimizer& optimizer, Tensor images,
                                 const Tensor& teacher_logits, std::span<const int> labels,
                                 const DistillOptions& options) {
  const Tensor logits = student.Forward(std::move(images), Mode::kTrain);
  return Learn(student, optimizer, logits,
               DistillationLoss(logits, teacher_logits, labels, options.alpha, options.temperature),
               labels);
}

}  // namespace hwnas
