// Classification losses on logits (N x classes), averaged over the batch, with their gradient.
#pragma once

#include <span>

#include "nn/tensor.h"

namespace hwnas {

struct LossResult {
  double loss = 0;
  Tensor grad;  // d loss / d logits
};

LossResult CrossEntropy(const Tensor& logits, std::span<const int> labels);

// L = alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T)).
// The T^2 keeps the soft term's gradient scale independent of T (Hinton et al., 2015).
LossResult DistillationLoss(const Tensor& student, const Tensor& teacher,
                            std::span<const int> labels, double alpha, double temperature);

// How many rows of `logits` have their largest value at the label.
int CountCorrect(const Tensor& logits, std::span<const int> labels);

}  // namespace hwnas
