// Optimizers, schedules, weight files, building from a NetworkSpec, thread-count determinism,
// and a real (small) training run on Fashion-MNIST.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/rng.h"
#include "evaluator/data_splits.h"
#include "evaluator/fashion_mnist.h"
#include "evaluator/trainer.h"
#include "nn/network.h"
#include "nn/weight_compression.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"
#include "nn/training_step.h"
#include "nn/weight_file.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;

// One scalar parameter with a fixed gradient.
struct Scalar {
  Parameter p{{1}};
  std::vector<NamedParameter> list() { return {{"w", &p}}; }
};

TEST(Sgd, MomentumAndWeightDecayFollowPyTorch) {
  Scalar s;
  s.p.value[0] = 1.0f;
  auto sgd = MakeSgd(s.list(), {.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.1});
  // g' = g + wd * w. Step 1: v = g'1 = 0.5 + 0.1 = 0.6, w = 1 - 0.06 = 0.94.
  s.p.grad[0] = 0.5f;
  sgd->Step();
  EXPECT_NEAR(s.p.value[0], 0.94, 1e-6);
  // Step 2: g' = 0.5 + 0.094 = 0.594, v = 0.9 * 0.6 + 0.594 = 1.134, w = 0.94 - 0.1134.
  sgd->Step();
  EXPECT_NEAR(s.p.value[0], 0.8266, 1e-6);
}

TEST(Sgd, MaxGradientNormScalesTheJointGradientDown) {
  Parameter a({1}), b({1});
  const std::vector<NamedParameter> both{{"a", &a}, {"b", &b}};
  auto sgd = MakeSgd(both, {.learning_rate = 1, .momentum = 0, .max_gradient_norm = 1});
  // The gradient (3, 4) has norm 5: the step is (3, 4) / 5.
  a.grad[0] = 3;
  b.grad[0] = 4;
  sgd->Step();
  EXPECT_NEAR(a.value[0], -0.6, 1e-6);
  EXPECT_NEAR(b.value[0], -0.8, 1e-6);
  // Within the bound the gradient is taken as it is.
  a.grad[0] = 0.3f;
  b.grad[0] = 0;
  sgd->Step();
  EXPECT_NEAR(a.value[0], -0.9, 1e-6);
}

TEST(Sgd, ANonFiniteGradientIsANumericalErrorWhenClipping) {
  Scalar s;
  auto sgd = MakeSgd(s.list(), {.max_gradient_norm = 10});
  s.p.grad[0] = 1;
  sgd->Step();
  s.p.grad[0] = std::nanf("");
  const float before = s.p.value[0];
  try {
    sgd->Step();
    FAIL() << "a NaN gradient was stepped on";
  } catch (const NumericalError& e) {
    EXPECT_STREQ(e.what(), "training diverged: the gradient is not finite at step 2");
  }
  EXPECT_EQ(s.p.value[0], before);
}

TEST(Sgd, NonTrainableParametersAreLeftAlone) {
  Parameter running({2}, false);
  running.value << 3, 4;
  running.grad << 1, 1;
  auto sgd = MakeSgd({{"running", &running}}, {.learning_rate = 1});
  sgd->Step();
  EXPECT_EQ(running.value[0], 3);
  EXPECT_EQ(running.value[1], 4);
}

TEST(Adam, FirstStepsMoveByTheLearningRate) {
  // With bias correction, Adam's first step is lr * g / (|g| + eps): lr in the gradient's
  // direction, whatever the gradient's scale.
  for (float g : {1e-3f, 1.0f, 50.0f}) {
    Scalar s;
    s.p.value[0] = 2.0f;
    auto adam = MakeAdam(s.list(), {.learning_rate = 0.01});
    s.p.grad[0] = g;
    adam->Step();
    EXPECT_NEAR(s.p.value[0], 2.0 - 0.01, 1e-5) << g;
    adam->Step();  // same gradient: m_hat / sqrt(v_hat) is still 1
    EXPECT_NEAR(s.p.value[0], 2.0 - 0.02, 1e-5) << g;
  }
}

TEST(Schedule, OneCycleMatchesPyTorchOneCycleLR) {
  // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100): lr 0.004 at step 0, 0.1 at
  // step 29, 4e-7 at step 99; momentum 0.95 -> 0.85 -> 0.95.
  Scalar s;
  auto sgd = MakeSgd(s.list(), {});
  const auto schedule = MakeOneCycleSchedule(0.1, 100);
  schedule->Apply(0, *sgd);
  EXPECT_NEAR(sgd->learning_rate(), 0.004, 1e-12);
  EXPECT_NEAR(sgd->momentum(), 0.95, 1e-12);
  schedule->Apply(29, *sgd);
  EXPECT_NEAR(sgd->learning_rate(), 0.1, 1e-12);
  EXPECT_NEAR(sgd->momentum(), 0.85, 1e-12);
  schedule->Apply(99, *sgd);
  EXPECT_NEAR(sgd->learning_rate(), 4e-7, 1e-15);
  EXPECT_NEAR(sgd->momentum(), 0.95, 1e-12);
  double previous = 1;
  for (int step = 29; step < 100; ++step) {
    schedule->Apply(step, *sgd);
    EXPECT_LE(sgd->learning_rate(), previous);
    previous = sgd->learning_rate();
  }
}

TEST(Schedule, CosineEndsAndMiddle) {
  Scalar s;
  auto sgd = MakeSgd(s.list(), {});
  const auto schedule = MakeCosineSchedule(0.2, 0.0, 10);
  schedule->Apply(0, *sgd);
  EXPECT_DOUBLE_EQ(sgd->learning_rate(), 0.2);
  schedule->Apply(5, *sgd);
  EXPECT_NEAR(sgd->learning_rate(), 0.1, 1e-12);
  schedule->Apply(10, *sgd);
  EXPECT_NEAR(sgd->learning_rate(), 0.0, 1e-12);
}

// conv 1->4, bn, relu, [residual: conv 4->4, bn], relu, gap, linear 4->3 on 6x6 inputs.
NetworkSpec SmallResidualSpec(int width = 4) {
  NetworkSpec spec;
  spec.in_channels = 1;
  spec.in_size = 6;
  spec.classes = 3;
  spec.layers = {
      {LayerOp::kConv, 1, width, 3, 1, 1, 1, 6, {}},
      {LayerOp::kBatchNorm, width, width, 1, 1, 1, 0, 6, {}},
      {LayerOp::kRelu, width, width, 1, 1, 1, 0, 6, {}},
      {LayerOp::kConv, width, width, 3, 1, 1, 1, 6, {}},
      {LayerOp::kBatchNorm, width, width, 1, 1, 1, 0, 6, {}},
      {LayerOp::kAdd, width, width, 1, 1, 1, 0, 6, {}, 3},
      {LayerOp::kRelu6, width, width, 1, 1, 1, 0, 6, {}},
      {LayerOp::kGlobalAvgPool, width, width, 6, 1, 1, 0, 6, {}},
      {LayerOp::kLinear, width, 3, 1, 1, 1, 0, 1, {}},
  };
  return spec;
}

Tensor RandomImages(int n, uint64_t seed) {
  Rng rng(seed);
  Tensor t({n, 1, 6, 6});
  for (auto& v : t.values) v = static_cast<float>(rng.Uniform());
  return t;
}

TEST(BuildNetwork, ResidualBlocksAndParameterCount) {
  const NetworkSpec spec = SmallResidualSpec();
  auto net = BuildNetwork(spec, 7);
  EXPECT_EQ(net->Describe(),
            "0: conv 1->4 k3 s1 p1\n1: batchnorm 4\n2: relu\n3: residual\n  0: conv 4->4 k3 s1 p1\n"
            "  1: batchnorm 4\n4: relu6\n5: global avgpool\n6: linear 4->3");
  EXPECT_EQ(TrainableParameterCount(*net), spec.Params());
  const Tensor logits = net->Forward(RandomImages(5, 1), Mode::kEval);
  EXPECT_EQ(logits.shape, (Shape{5, 3, 1, 1}));
}

TEST(BuildNetwork, SameSeedSameWeightsOtherSeedOthers) {
  const Tensor images = RandomImages(2, 1);
  const Tensor a = BuildNetwork(SmallResidualSpec(), 7)->Forward(images, Mode::kEval);
  const Tensor b = BuildNetwork(SmallResidualSpec(), 7)->Forward(images, Mode::kEval);
  const Tensor c = BuildNetwork(SmallResidualSpec(), 8)->Forward(images, Mode::kEval);
  EXPECT_TRUE((a.values == b.values).all());
  EXPECT_FALSE((a.values == c.values).all());
}

TEST(BuildNetwork, NodeSumWithoutResidualIsUnsupported) {
  NetworkSpec spec = SmallResidualSpec();
  spec.layers[5].residual_from = -1;
  EXPECT_TRUE(test::ThrowsWith<UnsupportedError>([&] { BuildNetwork(spec, 0); },
                                                 {"layer 5", "cannot be trained"}));
}

TEST(BatchNorm, EvaluationUsesRunningStatistics) {
  auto bn = MakeBatchNorm(1, 0.1f);
  Tensor x({4, 1, 1, 1});
  x.values << 1, 2, 3, 6;  // mean 3, unbiased variance 14/3
  bn->Forward(x, Mode::kTrain);
  Tensor probe({1, 1, 1, 1});
  probe.values << 3;
  // running mean 0.1 * 3 = 0.3, running var 0.9 + 0.1 * 14/3.
  const double expected = (3 - 0.3) / std::sqrt(0.9 + 0.1 * 14.0 / 3 + 1e-5);
  EXPECT_NEAR(bn->Forward(probe, Mode::kEval).values[0], expected, 1e-5);
}

TEST(BatchNorm, LargeMeanSmallSpreadNormalisesToUnitVariance) {
  // E[x^2] - E[x]^2 would cancel catastrophically here; deviations about the mean do not.
  auto bn = MakeBatchNorm(1);
  Rng rng(3);
  Tensor x({16, 1, 8, 8});
  for (auto& v : x.values) v = 10000.0f + static_cast<float>(2 * rng.Uniform() - 1);
  const Tensor y = bn->Forward(x, Mode::kTrain);
  const double mean = y.values.cast<double>().mean();
  const double variance = (y.values.cast<double>() - mean).square().mean();
  EXPECT_NEAR(mean, 0.0, 1e-3);
  EXPECT_NEAR(variance, 1.0, 0.05);
}

// Three SGD steps on random images; returns every parameter value.
std::vector<float> TrainThreeSteps(int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  auto net = BuildNetwork(SmallResidualSpec(8), 3);
  std::vector<NamedParameter> parameters;
  net->CollectParameters("", parameters);
  auto sgd = MakeSgd(parameters, {.learning_rate = 0.05, .momentum = 0.9, .weight_decay = 1e-4});
  const std::vector<int> labels = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
  for (int step = 0; step < 3; ++step) TrainStep(*net, *sgd, RandomImages(40, step), labels);
  std::vector<float> values;
  for (const auto& p : parameters) values.insert(values.end(), p.parameter->value.begin(), p.parameter->value.end());
  return values;
}

TEST(Training, BitIdenticalAtOneAndTwoThreads) {
  EXPECT_EQ(TrainThreeSteps(1), TrainThreeSteps(2));
}

TEST(WeightFile, RoundTripIsBitExactAndIncludesRunningStatistics) {
  TempDir dir;
  const std::string path = dir.File("fixture.weights");
  auto trained = BuildNetwork(SmallResidualSpec(), 1);
  trained->Forward(RandomImages(8, 2), Mode::kTrain);  // moves the running statistics
  std::vector<NamedParameter> saved;
  trained->CollectParameters("", saved);
  SaveWeights(path, saved);

  auto fresh = BuildNetwork(SmallResidualSpec(), 99);
  std::vector<NamedParameter> loaded;
  fresh->CollectParameters("", loaded);
  LoadWeights(path, loaded);
  ASSERT_EQ(saved.size(), loaded.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(saved[i].name, loaded[i].name);
    EXPECT_EQ(0, std::memcmp(saved[i].parameter->value.data(), loaded[i].parameter->value.data(),
                             saved[i].parameter->value.size() * sizeof(float)))
        << saved[i].name;
  }
  const Tensor images = RandomImages(3, 5);
  EXPECT_TRUE((trained->Forward(images, Mode::kEval).values == fresh->Forward(images, Mode::kEval).values).all());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(WeightFile, BadFilesAreRefusedAndChangeNothing) {
  TempDir dir;
  const std::string path = dir.File("fixture.weights");
  auto net = BuildNetwork(SmallResidualSpec(), 1);
  std::vector<NamedParameter> parameters;
  net->CollectParameters("", parameters);
  SaveWeights(path, parameters);
  std::ifstream in(path, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  auto other = BuildNetwork(SmallResidualSpec(), 2);
  std::vector<NamedParameter> target;
  other->CollectParameters("", target);
  const Eigen::ArrayXf before = target[0].parameter->value;
  auto refuses = [&](const std::string& file_text, std::string_view message) {
    const std::string bad = dir.File("fixture_bad.weights");
    test::WriteFile(bad, file_text);
    EXPECT_TRUE(test::ThrowsWith<IoError>([&] { LoadWeights(bad, target); }, {bad, message}));
    EXPECT_TRUE((target[0].parameter->value == before).all());
  };
  refuses(good.substr(0, good.size() - 7), "checksum mismatch: the file is truncated or corrupt");
  std::string flipped = good;
  flipped[flipped.size() - 3] ^= 0x40;
  refuses(flipped, "checksum mismatch");
  refuses("hwnas-weights 2\nchecksum 0\n", "format version 2, this hwnas reads version 1");
  refuses("PK\x03\x04 not weights\n\n", "not an hwnas weight file");
  refuses("", "not an hwnas weight file");
  EXPECT_TRUE(test::ThrowsWith<IoError>([&] { LoadWeights(dir.File("absent.weights"), target); },
                                        {"absent.weights", "cannot open"}));

  // A file of a wider network: the first parameter's shapes are named.
  auto wide = BuildNetwork(SmallResidualSpec(6), 1);
  std::vector<NamedParameter> wide_parameters;
  wide->CollectParameters("", wide_parameters);
  SaveWeights(path, wide_parameters);
  EXPECT_TRUE(test::ThrowsWith<IoError>([&] { LoadWeights(path, target); },
                                        {"'0.weight' has shape 6x1x3x3", "expects '0.weight' with shape 4x1x3x3"}));
  EXPECT_TRUE((target[0].parameter->value == before).all());
}

// SmallResidualSpec with one policy on every conv and linear layer.
NetworkSpec WithPolicy(NetworkSpec spec, const LayerPolicy& policy) {
  for (auto& l : spec.layers) {
    if (l.op == LayerOp::kConv || l.op == LayerOp::kLinear) l.policy = policy;
  }
  return spec;
}

// Runs `steps` SGD steps (momentum and weight decay) on random images.
void TrainSteps(Sequential& net, int steps) {
  std::vector<NamedParameter> parameters;
  net.CollectParameters("", parameters);
  auto sgd = MakeSgd(parameters, {.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 1e-3});
  const std::vector<int> labels = {0, 1, 2, 1, 0, 2, 2, 1};
  for (int step = 0; step < steps; ++step) TrainStep(net, *sgd, RandomImages(8, 100 + step), labels);
}

TEST(CompressedTraining, UnstructuredMasksSurviveOptimizerSteps) {
  auto net = BuildNetwork(WithPolicy(SmallResidualSpec(8), {.sparsity = 0.75, .pattern = SparsityPattern::kUnstructured}), 4);
  TrainSteps(*net, 6);
  std::vector<CompressibleLayer> layers;
  net->CollectCompressible("", layers);
  ASSERT_EQ(layers.size(), 3u);
  for (const auto& layer : layers) {
    const auto& value = layer.weight->value;
    const int64_t zeros = (value == 0.0f).count();
    EXPECT_EQ(zeros, std::llround(0.75 * value.size())) << layer.name;
    const auto& keep = layer.compression->mask()->keep();
    for (int64_t i = 0; i < value.size(); ++i) {
      if (keep.data()[i] == 0) {
        EXPECT_EQ(value[i], 0.0f) << layer.name << " " << i;
      }
    }
  }
}

TEST(CompressedTraining, TwoOfFourGroupsKeepAtMostTwoAfterTraining) {
  auto net = BuildNetwork(WithPolicy(SmallResidualSpec(8), {.pattern = SparsityPattern::kNofM, .n_of_m_n = 2, .n_of_m_m = 4}), 4);
  TrainSteps(*net, 6);
  std::vector<CompressibleLayer> layers;
  net->CollectCompressible("", layers);
  for (const auto& layer : layers) {
    const ConstRowMap w(layer.weight->value.data(), layer.rows, layer.cols);
    for (int r = 0; r < layer.rows; ++r) {
      for (int c = 0; c < layer.cols; c += 4) {
        const int width = std::min(4, layer.cols - c);
        EXPECT_LE((w.row(r).segment(c, width).array() != 0.0f).count(), 2) << layer.name << " row " << r;
      }
    }
  }
}

TEST(CompressedTraining, ChannelPruningZeroesWholeOutputChannels) {
  auto net = BuildNetwork(WithPolicy(SmallResidualSpec(8), {.sparsity = 0.5, .pattern = SparsityPattern::kChannel}), 4);
  TrainSteps(*net, 3);
  std::vector<CompressibleLayer> layers;
  net->CollectCompressible("", layers);
  const ConstRowMap first(layers[0].weight->value.data(), layers[0].rows, layers[0].cols);
  int zero_rows = 0;
  for (int r = 0; r < first.rows(); ++r) zero_rows += first.row(r).isZero(0);
  EXPECT_EQ(zero_rows, 4);  // half of 8 channels
}

TEST(CompressedTraining, LowRankBuildsTwoFactorLayers) {
  auto net = BuildNetwork(WithPolicy(SmallResidualSpec(8), {.rank_ratio = 0.5}), 4);
  const std::string text = net->Describe();
  // conv 1->8 k3: full rank min(8, 9) = 8, half is 4: a 3x3 conv to 4 channels, then 1x1 to 8.
  EXPECT_NE(text.find("0: conv 1->4 k3 s1 p1\n1: conv 4->8 k1 s1 p0"), std::string::npos) << text;
  // linear 8->3: full rank 3, half rounds to 2.
  EXPECT_NE(text.find("linear 8->2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("linear 2->3"), std::string::npos) << text;
  EXPECT_EQ(net->Forward(RandomImages(2, 1), Mode::kEval).shape, (Shape{2, 3, 1, 1}));
}

TEST(CompressedTraining, QuantizedActivationRangesFreezeAndTravelInWeightFiles) {
  TempDir dir;
  const NetworkSpec spec = WithPolicy(SmallResidualSpec(8), {.w_bits = 4, .a_bits = 6});
  auto net = BuildNetwork(spec, 4);
  EXPECT_NE(net->Describe().find("quantize activations 6 bits"), std::string::npos);
  TrainSteps(*net, 4);
  const Tensor images = RandomImages(5, 9);
  const Tensor once = net->Forward(images, Mode::kEval);
  const Tensor again = net->Forward(images, Mode::kEval);
  EXPECT_TRUE((once.values == again.values).all());  // evaluation does not move the ranges
  std::vector<NamedParameter> parameters;
  net->CollectParameters("", parameters);
  SaveWeights(dir.File("fixture.weights"), parameters);
  auto loaded = BuildNetwork(spec, 5);
  std::vector<NamedParameter> loaded_parameters;
  loaded->CollectParameters("", loaded_parameters);
  LoadWeights(dir.File("fixture.weights"), loaded_parameters);
  EXPECT_TRUE((loaded->Forward(images, Mode::kEval).values == once.values).all());
}

TEST(CompressedTraining, LoadedPrunedWeightsKeepTheirOwnMaskInANetworkOfAnotherSeed) {
  TempDir dir;
  const NetworkSpec spec = WithPolicy(SmallResidualSpec(8), {.sparsity = 0.5, .pattern = SparsityPattern::kUnstructured});
  auto trained = BuildNetwork(spec, 4);
  TrainSteps(*trained, 3);
  std::vector<NamedParameter> parameters;
  trained->CollectParameters("", parameters);
  SaveWeights(dir.File("fixture.weights"), parameters);
  auto loaded = BuildNetwork(spec, 5);  // its own init pruned other weights
  LoadNetworkWeights(dir.File("fixture.weights"), *loaded);
  const Tensor images = RandomImages(4, 6);
  EXPECT_TRUE((loaded->Forward(images, Mode::kEval).values == trained->Forward(images, Mode::kEval).values).all());
}

TEST(CompressedTraining, EvaluatingBeforeTrainingChangesNoActivationRange) {
  const NetworkSpec spec = WithPolicy(SmallResidualSpec(8), {.a_bits = 4});
  auto evaluated_first = BuildNetwork(spec, 4);
  const Tensor before = evaluated_first->Forward(RandomImages(4, 6), Mode::kEval);
  EXPECT_GT(before.values.abs().maxCoeff(), 0.0f);  // quantized over the batch's own range
  TrainSteps(*evaluated_first, 3);
  auto trained_only = BuildNetwork(spec, 4);
  TrainSteps(*trained_only, 3);
  std::vector<NamedParameter> a, b;
  evaluated_first->CollectParameters("", a);
  trained_only->CollectParameters("", b);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE((a[i].parameter->value == b[i].parameter->value).all()) << a[i].name;
  }
}

TEST(Training, BadOptionsAreConfigErrors) {
  Dataset data;
  data.shape = {1, 6, 6};
  data.num_classes = 3;
  data.images = ImageMatrix::Random(100, 36);
  data.labels.assign(100, 1);
  auto net = BuildNetwork(SmallResidualSpec(), 1);
  EXPECT_TRUE(test::ThrowsWith<ConfigError>([&] { Train(*net, data, {.epochs = 0}); },
                                            {"at least one epoch", "got 0 epochs"}));
  EXPECT_TRUE(test::ThrowsWith<ConfigError>([&] { Train(*net, data, {.batch_size = 0}); },
                                            {"batch size 0"}));
  EXPECT_TRUE(test::ThrowsWith<ConfigError>([&] { Accuracy(*net, data, 0); }, {"batch size must be at least 1"}));
  // One batch, one step: the one-cycle schedule copes.
  EXPECT_EQ(Train(*net, data, {.epochs = 1, .batch_size = 128}).steps, 1);
}

// The reference small-image network (bench/train_throughput) on 6,000 Fashion-MNIST images.
TEST(Training, SmallNetworkLearnsFashionMnist) {
  if (!std::filesystem::exists(kFashionMnistDir)) GTEST_SKIP() << "install dataset-fashion-mnist";
  // 54,000 / 6,000 split: train on the 6,000 (the validation part) and test on 2,000 others.
  const DataSplits splits(LoadFashionMnist(), {.validation_size = 6000, .seed = 0});
  const Dataset& small = splits.validation();
  std::vector<int64_t> held_out(2000);
  for (int64_t i = 0; i < 2000; ++i) held_out[i] = i * 27;
  const Dataset test = Subset(splits.train(), held_out);

  auto net = BuildNetwork(SmallImageReferenceSpec(), 0);
  const TrainReport report = Train(*net, small, {.epochs = 2, .batch_size = 64, .peak_learning_rate = 0.1});
  EXPECT_EQ(report.steps, 2 * 94);
  const double accuracy = Accuracy(*net, test);
  // Measured 0.744 with these seeds; chance is 0.10.
  EXPECT_GE(accuracy, 0.70);
  EXPECT_LT(report.last_epoch_loss, 1.0);
}

}  // namespace
}  // namespace hwnas
