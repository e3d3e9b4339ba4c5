// Every layer's and loss's backward pass against central finite differences.
//
// The loss is L = sum(output * R) for a fixed random R, so dL/doutput = R. The forward runs in
// float; differences use step kStep, and a gradient passes when
// |analytic - numeric| <= kAbsoluteTolerance + kRelativeTolerance * |numeric|.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "core/rng.h"
#include "nn/layer.h"
#include "nn/loss.h"
#include "nn/sequential.h"

namespace hwnas {
namespace {

constexpr float kStep = 1e-2f;
constexpr double kAbsoluteTolerance = 2e-3;
constexpr double kRelativeTolerance = 2e-2;

Tensor RandomTensor(Shape shape, uint64_t seed, float away_from_zero = 0) {
  Rng rng(seed);
  Tensor t(shape);
  for (auto& v : t.values) {
    const float x = static_cast<float>(2 * rng.Uniform() - 1);
    // Keep inputs off kinks (relu at 0, pooling ties) by more than the difference step.
    v = x + (x < 0 ? -away_from_zero : away_from_zero);
  }
  return t;
}

double Projected(const Tensor& output, const Tensor& weights) {
  return (output.values.cast<double>() * weights.values.cast<double>()).sum();
}

void ExpectClose(double analytic, double numeric, const std::string& what) {
  EXPECT_LE(std::abs(analytic - numeric), kAbsoluteTolerance + kRelativeTolerance * std::abs(numeric))
      << what << ": analytic " << analytic << ", numeric " << numeric;
}

// Checks d(sum(f(x) * R))/dx and /dparameters of `module` in `mode`.
void CheckModule(Module& module, const Tensor& input, Mode mode = Mode::kTrain) {
  Tensor output = module.Forward(input, mode);
  const Tensor projection = RandomTensor(output.shape, 99);
  std::vector<NamedParameter> parameters;
  module.CollectParameters("", parameters);
  for (auto& p : parameters) p.parameter->grad.setZero();
  const Tensor grad_input = module.Backward(projection);
  ASSERT_EQ(grad_input.shape, input.shape);

  auto loss = [&](const Tensor& x) { return Projected(module.Forward(x, mode), projection); };
  Tensor probe = input;
  for (int64_t i = 0; i < input.values.size(); ++i) {
    probe.values[i] = input.values[i] + kStep;
    const double up = loss(probe);
    probe.values[i] = input.values[i] - kStep;
    const double down = loss(probe);
    probe.values[i] = input.values[i];
    ExpectClose(grad_input.values[i], (up - down) / (2 * kStep), "input " + std::to_string(i));
  }
  for (auto& p : parameters) {
    if (!p.parameter->trainable) continue;
    auto& value = p.parameter->value;
    for (int64_t i = 0; i < value.size(); ++i) {
      const float saved = value[i];
      value[i] = saved + kStep;
      const double up = loss(input);
      value[i] = saved - kStep;
      const double down = loss(input);
      value[i] = saved;
      ExpectClose(p.parameter->grad[i], (up - down) / (2 * kStep), p.name + "[" + std::to_string(i) + "]");
    }
  }
}

TEST(GradientCheck, Conv2dPlain) {
  Rng init(1);
  auto conv = MakeConv2d({.cin = 3, .cout = 4, .kernel = 3, .stride = 1, .padding = 1, .bias = true}, init);
  CheckModule(*conv, RandomTensor({2, 3, 5, 5}, 2));
}

TEST(GradientCheck, Conv2dStridedUnpadded) {
  Rng init(1);
  auto conv = MakeConv2d({.cin = 2, .cout = 3, .kernel = 3, .stride = 2, .padding = 0}, init);
  CheckModule(*conv, RandomTensor({2, 2, 7, 7}, 3));
}

TEST(GradientCheck, Conv2dGroupedAndDepthwise) {
  Rng init(1);
  auto grouped = MakeConv2d({.cin = 4, .cout = 6, .kernel = 3, .stride = 1, .padding = 1, .groups = 2}, init);
  CheckModule(*grouped, RandomTensor({2, 4, 4, 4}, 4));
  auto depthwise = MakeConv2d({.cin = 3, .cout = 3, .kernel = 5, .stride = 2, .padding = 2, .groups = 3}, init);
  CheckModule(*depthwise, RandomTensor({2, 3, 6, 6}, 5));
}

TEST(GradientCheck, Conv2dPointwise) {
  Rng init(1);
  auto conv = MakeConv2d({.cin = 4, .cout = 3, .kernel = 1}, init);
  CheckModule(*conv, RandomTensor({3, 4, 3, 3}, 6));
}

TEST(GradientCheck, Linear) {
  Rng init(1);
  auto linear = MakeLinear(12, 5, init);
  CheckModule(*linear, RandomTensor({4, 3, 2, 2}, 7));
}

TEST(GradientCheck, BatchNormTraining) {
  auto bn = MakeBatchNorm(3);
  CheckModule(*bn, RandomTensor({4, 3, 3, 3}, 8));
}

TEST(GradientCheck, ReluAndRelu6) {
  CheckModule(*MakeRelu(), RandomTensor({2, 3, 3, 3}, 10, 0.05f));
  Tensor wide = RandomTensor({2, 3, 3, 3}, 11, 0.05f);
  wide.values *= 10;  // reach past 6
  for (auto& v : wide.values) {
    if (std::abs(v - 6) < 0.1f) v += 0.5f;
  }
  CheckModule(*MakeRelu6(), wide);
}

TEST(GradientCheck, Pooling) {
  CheckModule(*MakeAvgPool(3, 1, 1), RandomTensor({2, 2, 5, 5}, 12));
  CheckModule(*MakeAvgPool(2, 2, 0), RandomTensor({2, 2, 4, 4}, 13));
  CheckModule(*MakeMaxPool(3, 2, 1), RandomTensor({2, 2, 5, 5}, 14));
  CheckModule(*MakeGlobalAvgPool(), RandomTensor({2, 3, 4, 4}, 15));
}

TEST(GradientCheck, FlattenAndDropout) {
  CheckModule(*MakeFlatten(), RandomTensor({2, 3, 2, 2}, 16));
  // Evaluation mode is deterministic; training mode draws a new mask per forward, so the
  // backward is checked against the mask of its own forward below.
  CheckModule(*MakeDropout(0.5f, 3), RandomTensor({2, 3, 2, 2}, 17), Mode::kEval);
  auto dropout = MakeDropout(0.5f, 3);
  const Tensor input = RandomTensor({1, 1, 20, 20}, 18);
  const Tensor output = dropout->Forward(input, Mode::kTrain);
  Tensor ones(output.shape);
  ones.values.setOnes();
  const Tensor grad = dropout->Backward(ones);
  int dropped = 0;
  for (int64_t i = 0; i < input.values.size(); ++i) {
    EXPECT_FLOAT_EQ(output.values[i], input.values[i] * grad.values[i]);
    EXPECT_TRUE(grad.values[i] == 0.0f || grad.values[i] == 2.0f);
    dropped += grad.values[i] == 0.0f;
  }
  EXPECT_GT(dropped, 140);  // about half of 400
  EXPECT_LT(dropped, 260);
}

TEST(GradientCheck, ResidualBlock) {
  Rng init(1);
  auto body = std::make_unique<Sequential>();
  body->Add(MakeConv2d({.cin = 3, .cout = 3, .kernel = 3, .padding = 1}, init));
  body->Add(MakeBatchNorm(3));  // no activation: its kinks would blur the differences
  auto residual = MakeResidual(std::move(body));
  CheckModule(*residual, RandomTensor({3, 3, 4, 4}, 19));
}

// Loss gradients w.r.t. the logits.
void CheckLoss(const std::function<LossResult(const Tensor&)>& loss, const Tensor& logits) {
  const LossResult result = loss(logits);
  Tensor probe = logits;
  for (int64_t i = 0; i < logits.values.size(); ++i) {
    probe.values[i] = logits.values[i] + kStep;
    const double up = loss(probe).loss;
    probe.values[i] = logits.values[i] - kStep;
    const double down = loss(probe).loss;
    probe.values[i] = logits.values[i];
    ExpectClose(result.grad.values[i], (up - down) / (2 * kStep), "logit " + std::to_string(i));
  }
}

TEST(GradientCheck, CrossEntropy) {
  const std::vector<int> labels = {0, 3, 2, 1};
  Tensor logits = RandomTensor({4, 5, 1, 1}, 20);
  logits.values *= 3;
  CheckLoss([&](const Tensor& x) { return CrossEntropy(x, labels); }, logits);
}

TEST(GradientCheck, DistillationLossAtSeveralTemperatures) {
  const std::vector<int> labels = {4, 0, 1};
  Tensor teacher = RandomTensor({3, 5, 1, 1}, 21);
  teacher.values *= 4;
  const Tensor student = RandomTensor({3, 5, 1, 1}, 22);
  for (double alpha : {0.0, 0.3, 1.0}) {
    for (double temperature : {1.0, 4.0}) {
      CheckLoss([&](const Tensor& x) { return DistillationLoss(x, teacher, labels, alpha, temperature); },
                student);
    }
  }
}

TEST(Loss, KnownValues) {
  // Uniform logits: CE = log(classes); a student equal to its teacher has zero KL term.
  Tensor logits({2, 4, 1, 1});
  logits.values.setZero();
  const std::vector<int> labels = {1, 2};
  EXPECT_NEAR(CrossEntropy(logits, labels).loss, std::log(4.0), 1e-6);
  const Tensor student = RandomTensor({2, 4, 1, 1}, 23);
  EXPECT_NEAR(DistillationLoss(student, student, labels, 0.0, 3.0).loss, 0.0, 1e-9);
  EXPECT_NEAR(DistillationLoss(student, student, labels, 1.0, 3.0).loss,
              CrossEntropy(student, labels).loss, 1e-12);
  EXPECT_EQ(CountCorrect(student, std::vector<int>{0, 0}) + CountCorrect(student, std::vector<int>{1, 1}) +
                CountCorrect(student, std::vector<int>{2, 2}) + CountCorrect(student, std::vector<int>{3, 3}),
            2);
}

}  // namespace
}  // namespace hwnas
