#include "nn/loss.h"

#include <cmath>
#include <utility>

#include "core/errors.h"

namespace hwnas {

namespace {

// Row-wise softmax of logits / temperature, in double for a stable log.
Eigen::MatrixXd Softmax(const Tensor& logits, double temperature) {
  Eigen::MatrixXd z = std::as_const(logits).BatchMatrix().cast<double>() / temperature;
  z.colwise() -= z.rowwise().maxCoeff();
  z = z.array().exp().matrix();
  z.array().colwise() /= z.rowwise().sum().array();
  return z;
}

void CheckLabels(const Tensor& logits, std::span<const int> labels) {
  HWNAS_CHECK(static_cast<int>(labels.size()) == logits.shape.n);
  for (int label : labels) HWNAS_CHECK(label >= 0 && label < logits.shape.PerItem());
}

}  // namespace

LossResult CrossEntropy(const Tensor& logits, std::span<const int> labels) {
  CheckLabels(logits, labels);
  const int n = logits.shape.n;
  Eigen::MatrixXd p = Softmax(logits, 1.0);
  double loss = 0;
  for (int i = 0; i < n; ++i) {
    loss -= std::log(std::max(p(i, labels[i]), 1e-300));
    p(i, labels[i]) -= 1.0;
  }
  LossResult result{loss / n, Tensor(logits.shape)};
  result.grad.BatchMatrix() = (p / n).cast<float>();
  return result;
}

LossResult DistillationLoss(const Tensor& student, const Tensor& teacher,
                            std::span<const int> labels, double alpha, double temperature) {
  HWNAS_CHECK(student.shape == teacher.shape);
  HWNAS_CHECK(alpha >= 0 && alpha <= 1 && temperature > 0);
  LossResult hard = CrossEntropy(student, labels);
  const int n = student.shape.n;
  const Eigen::MatrixXd p_teacher = Softmax(teacher, temperature);
  const Eigen::MatrixXd p_student = Softmax(student, temperature);
  const double kl = (p_teacher.array() *
                     (p_teacher.array().max(1e-300).log() - p_student.array().max(1e-300).log()))
                        .sum() / n;
  const double t2 = temperature * temperature;
  LossResult result{alpha * hard.loss + (1 - alpha) * t2 * kl, Tensor(student.shape)};
  // d/ds of T^2 KL(p_t || softmax(s/T)) = T (softmax(s/T) - p_t), per row, over n.
  result.grad.BatchMatrix() =
      (alpha * hard.grad.BatchMatrix().cast<double>() +
       (1 - alpha) * temperature * (p_student - p_teacher) / n)
          .cast<float>();
  return result;
}

int CountCorrect(const Tensor& logits, std::span<const int> labels) {
  CheckLabels(logits, labels);
  const ConstRowMap scores = logits.BatchMatrix();
  int correct = 0;
  for (int i = 0; i < logits.shape.n; ++i) {
    Eigen::Index best;
    scores.row(i).maxCoeff(&best);
    correct += best == labels[i];
  }
  return correct;
}

}  // namespace hwnas
