// Every layer's and loss's backward pass against central finite differences.
//
// The loss is L = sum(output * R) for a fixed random R, so dL/doutput = R. The forward runs in
// float; differences use step kStep, and a gradient passes when
// |analytic - numeric| <= kAbsoluteTolerance + kRelativeTolerance * |numeric|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "core/rng.h"
#include "nn/conv_kernels.h"
#include "nn/layer.h"
#include "nn/compression_policy.h"
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

// Groups of a register's width of output (input) channels or more take the direct kernels for
// the forward pass and weight gradient (input gradient).
TEST(GradientCheck, Conv2dDirect) {
  const int wide = DirectVectorWidth();
  Rng init(1);
  auto outputs = MakeConv2d({.cin = 2, .cout = wide + 3, .kernel = 3, .stride = 2, .padding = 1, .bias = true}, init);
  CheckModule(*outputs, RandomTensor({2, 2, 5, 6}, 16));
  auto inputs = MakeConv2d({.cin = wide + 1, .cout = 3, .kernel = 3, .stride = 2, .padding = 1}, init);
  CheckModule(*inputs, RandomTensor({2, wide + 1, 5, 4}, 17));
  auto both = MakeConv2d({.cin = 2 * wide, .cout = 2 * wide, .kernel = 3, .stride = 2, .padding = 1, .groups = 2}, init);
  CheckModule(*both, RandomTensor({2, 2 * wide, 4, 3}, 18));
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

TEST(GradientCheck, BackwardBelongsToTheLastTrainingForward) {
  // An evaluation forward of another batch size in between must not change what backward uses.
  for (auto make : {+[] { return MakeMaxPool(3, 2, 1); }, +[] { return MakeAvgPool(2, 2, 0); },
                    +[] { return MakeGlobalAvgPool(); }, +[] { return MakeFlatten(); }}) {
    auto layer = make();
    const Tensor train = RandomTensor({2, 2, 4, 4}, 40);
    const Tensor out = layer->Forward(train, Mode::kTrain);
    const Tensor projection = RandomTensor(out.shape, 41);
    const Tensor expected = layer->Backward(projection);
    layer->Forward(train, Mode::kTrain);
    layer->Forward(RandomTensor({5, 2, 4, 4}, 42), Mode::kEval);
    const Tensor grad = layer->Backward(projection);
    EXPECT_EQ(grad.shape, train.shape) << layer->Describe();
    EXPECT_TRUE((grad.values == expected.values).all()) << layer->Describe();
  }
}

TEST(GradientCheck, FlattenAndDropout) {
  CheckModule(*MakeFlatten(), RandomTensor({2, 3, 2, 2}, 16));
  // Training draws a new mask per forward, so the backward is checked against the mask of its
  // own forward; an evaluation forward in between is the identity and leaves that mask alone.
  auto dropout = MakeDropout(0.5f, 3);
  const Tensor input = RandomTensor({1, 1, 20, 20}, 18);
  const Tensor output = dropout->Forward(input, Mode::kTrain);
  const Tensor other = RandomTensor({3, 1, 20, 20}, 19);
  EXPECT_TRUE((dropout->Forward(other, Mode::kEval).values == other.values).all());
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

// Compression hooks: masked weights, and the straight-through estimator (STE) for quantized
// weights and activations.
namespace hwnas {
namespace {

TEST(GradientCheck, MaskedConvWeightsGetNoGradient) {
  Rng init(1);
  auto conv = MakeConv2d({.cin = 2, .cout = 3, .kernel = 3, .padding = 1}, init);
  std::vector<CompressibleLayer> layers;
  conv->CollectCompressible("", layers);
  ASSERT_EQ(layers.size(), 1u);
  ApplyWeightPolicy(layers[0], {.sparsity = 0.5, .pattern = SparsityPattern::kUnstructured});
  // Masked entries do not change the output, so their numeric gradient is 0 and so must the
  // analytic one be; the others are checked as usual.
  CheckModule(*conv, RandomTensor({2, 2, 4, 4}, 30));
  std::vector<NamedParameter> parameters;
  conv->CollectParameters("", parameters);
  const auto& keep = layers[0].compression->mask()->keep();
  int zeros = 0;
  for (int64_t i = 0; i < keep.size(); ++i) {
    if (keep.data()[i] == 0) {
      EXPECT_EQ(parameters[0].parameter->grad[i], 0.0f);
      ++zeros;
    }
  }
  EXPECT_EQ(zeros, 27);  // round(0.5 * 54)
}

TEST(GradientCheck, QuantizedWeightsPassTheGradientOfTheirDequantizedValues) {
  // STE: the gradient w.r.t. the stored weights is the float layer's gradient at the
  // dequantized weights (every weight lies inside its channel's min-max range).
  Rng init(1);
  auto quantized = MakeConv2d({.cin = 2, .cout = 3, .kernel = 3, .padding = 1}, init);
  std::vector<CompressibleLayer> layers;
  quantized->CollectCompressible("", layers);
  ApplyWeightPolicy(layers[0], {.w_bits = 3});
  const Tensor input = RandomTensor({2, 2, 4, 4}, 31);
  const Tensor output = quantized->Forward(input, Mode::kTrain);
  const Tensor projection = RandomTensor(output.shape, 99);
  std::vector<NamedParameter> parameters;
  quantized->CollectParameters("", parameters);
  parameters[0].parameter->grad.setZero();
  quantized->Backward(projection);
  const ConstRowMap dequantized = layers[0].compression->LastEffective(*layers[0].weight, 3, 18);

  Rng other(2);
  auto plain = MakeConv2d({.cin = 2, .cout = 3, .kernel = 3, .padding = 1}, other);
  std::vector<NamedParameter> plain_parameters;
  plain->CollectParameters("", plain_parameters);
  auto& w = plain_parameters[0].parameter->value;
  w = Eigen::Map<const Eigen::ArrayXf>(dequantized.data(), dequantized.size());
  EXPECT_GT((w - parameters[0].parameter->value).abs().maxCoeff(), 1e-3);  // 3 bits do change them
  auto loss = [&] { return Projected(plain->Forward(input, Mode::kTrain), projection); };
  for (int64_t i = 0; i < w.size(); ++i) {
    const float saved = w[i];
    w[i] = saved + kStep;
    const double up = loss();
    w[i] = saved - kStep;
    const double down = loss();
    w[i] = saved;
    ExpectClose(parameters[0].parameter->grad[i], (up - down) / (2 * kStep), "weight " + std::to_string(i));
  }
}

TEST(GradientCheck, ActivationQuantizerIsTheClippedStraightThroughEstimator) {
  auto quantizer = MakeActivationQuantizer(4);
  const Tensor first = RandomTensor({2, 2, 3, 3}, 32);
  quantizer->Forward(first, Mode::kTrain);  // sets the range to first's min and max
  Tensor wide = RandomTensor({2, 2, 3, 3}, 33);
  wide.values *= 1.6f;  // some values beyond the range
  std::vector<NamedParameter> range;
  quantizer->CollectParameters("", range);
  const float low = range[0].parameter->value[0], high = range[0].parameter->value[1];
  Tensor output = quantizer->Forward(wide, Mode::kEval);
  const Tensor projection = RandomTensor(output.shape, 99);
  quantizer->Forward(wide, Mode::kTrain);  // moves the range by EMA; take the new one
  const float new_low = range[0].parameter->value[0], new_high = range[0].parameter->value[1];
  EXPECT_LT(new_low, low);
  EXPECT_GT(new_high, high);
  const Tensor grad = quantizer->Backward(projection);
  // The estimator is the derivative of clamp(x, min, max): check it by differences of the clamp.
  int outside = 0;
  for (int64_t i = 0; i < wide.values.size(); ++i) {
    const float x = wide.values[i];
    auto clamped = [&](float v) { return std::clamp(v, new_low, new_high) * projection.values[i]; };
    if (std::abs(x - new_low) < kStep || std::abs(x - new_high) < kStep) continue;
    ExpectClose(grad.values[i], (clamped(x + kStep) - clamped(x - kStep)) / (2 * kStep), "x " + std::to_string(i));
    outside += x < new_low || x > new_high;
  }
  EXPECT_GT(outside, 0);
}

}  // namespace
}  // namespace hwnas
