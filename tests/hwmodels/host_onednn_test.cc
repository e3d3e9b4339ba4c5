// The host's int8 and bf16 paths (oneDNN) against the fp32 nn engine on the same weights and
// input, and the layers the host refuses.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "hwmodels/host/host_network.h"
#include "test_util.h"

namespace hwnas {
namespace {

LayerPolicy Int8() {
  LayerPolicy p;
  p.w_bits = p.a_bits = 8;
  return p;
}

// conv [+ bn] [+ relu] on a c x size x size input, every weight layer with `policy`.
NetworkSpec ConvSpec(int cin, int cout, int k, int stride, int groups, int size, bool relu,
                     LayerPolicy policy) {
  NetworkSpec spec;
  spec.in_channels = cin;
  spec.in_size = size;
  Layer conv{LayerOp::kConv, cin, cout, k, stride, groups, k / 2, size, policy};
  spec.layers.push_back(conv);
  const int out = conv.HOut();
  spec.layers.push_back({LayerOp::kBatchNorm, cout, cout, 1, 1, 1, 0, out, {}});
  if (relu) spec.layers.push_back({LayerOp::kRelu, cout, cout, 1, 1, 1, 0, out, {}});
  return spec;
}

// The largest difference from the fp32 output, as a share of the fp32 output's range.
double RelativeError(const NetworkSpec& fp32, const NetworkSpec& int8, int batch) {
  HostNetwork reference(fp32, batch, 7), quantized(int8, batch, 7);
  const Tensor want = reference.Forward();
  const Tensor got = quantized.Forward();
  EXPECT_EQ(want.shape, got.shape);
  const double range = want.values.abs().maxCoeff();
  EXPECT_GT(range, 0.0);
  return (want.values - got.values).abs().maxCoeff() / range;
}

// "kind@precision" of every step of the network.
std::vector<std::string> StepsAndPrecisions(const HostNetwork& network) {
  std::vector<std::string> steps;
  for (const auto& step : network.steps()) {
    steps.push_back(step.kind + "@" + std::string(HostPrecisionName(step.precision)));
  }
  return steps;
}

struct ConvCase {
  int cin, cout, k, stride, groups, size;
  bool relu;
};

class HostInt8Conv : public ::testing::TestWithParam<ConvCase> {};

// Per-channel 8-bit weights and 8-bit activations: a few steps of 1/127 of the range at most.
TEST_P(HostInt8Conv, MatchesFloatReferenceWithinQuantisationError) {
  const ConvCase c = GetParam();
  const double error =
      RelativeError(ConvSpec(c.cin, c.cout, c.k, c.stride, c.groups, c.size, c.relu, {}),
                    ConvSpec(c.cin, c.cout, c.k, c.stride, c.groups, c.size, c.relu, Int8()), 2);
  EXPECT_LT(error, 0.04);
}

INSTANTIATE_TEST_SUITE_P(Shapes, HostInt8Conv,
                         ::testing::Values(ConvCase{16, 32, 3, 1, 1, 14, true},   // dense 3x3
                                           ConvCase{32, 64, 1, 1, 1, 14, false},  // 1x1, signed out
                                           ConvCase{24, 24, 3, 2, 24, 15, true},  // depthwise s2
                                           ConvCase{32, 32, 5, 1, 32, 7, true},   // depthwise 5x5
                                           ConvCase{16, 32, 3, 1, 4, 8, true},    // grouped
                                           ConvCase{3, 16, 7, 2, 1, 32, true}));  // stem

// A 3x3 stem to 16 channels on 12x12, one residual block of `body`, global pooling and a
// linear layer; stem and linear at `ends`.
NetworkSpec ResidualNet(const std::vector<NetworkSpec>& body, LayerPolicy ends) {
  NetworkSpec s = ConvSpec(3, 16, 3, 1, 1, 12, true, ends);
  const int first = static_cast<int>(s.layers.size());
  for (const auto& part : body) {
    s.layers.insert(s.layers.end(), part.layers.begin(), part.layers.end());
  }
  Layer add{LayerOp::kAdd, 16, 16, 1, 1, 1, 0, 12, {}};
  add.residual_from = first;
  s.layers.push_back(add);
  s.layers.push_back({LayerOp::kGlobalAvgPool, 16, 16, 12, 1, 1, 0, 12, {}});
  s.layers.push_back({LayerOp::kLinear, 16, 10, 1, 1, 1, 0, 1, ends});
  s.classes = 10;
  return s;
}

TEST(HostInt8, MixedNetworkWithResidualAndLinearMatchesFloat) {
  // int8 stem, fp32 block body with an int8 projection, residual add, gap, int8 linear.
  auto spec = [](bool quantized) {
    const LayerPolicy q = quantized ? Int8() : LayerPolicy{};
    return ResidualNet(
        {ConvSpec(16, 16, 3, 1, 16, 12, true, {}), ConvSpec(16, 16, 1, 1, 1, 12, false, q)}, q);
  };
  EXPECT_LT(RelativeError(spec(false), spec(true), 3), 0.05);
  // The conversions are steps of their own: quantize before the stem, dequantize after it...
  HostNetwork network(spec(true), 1, 0);
  std::vector<std::string> kinds;
  for (const auto& step : network.steps()) kinds.push_back(step.kind);
  const std::vector<std::string> want = {"quantize", "conv",     "dequantize", "conv",
                                         "quantize", "conv",     "dequantize", "add",
                                         "gap",      "quantize", "linear",     "dequantize"};
  EXPECT_EQ(kinds, want);
}

// A block all at int8 keeps its skip connection at int8: the add reads both int8 tensors (u8
// after the stem's ReLU, s8 out of the projection) with no conversion around it.
TEST(HostInt8, ResidualBlockAllAtInt8AddsAtInt8AndMatchesFloat) {
  auto spec = [](bool quantized) {
    const LayerPolicy q = quantized ? Int8() : LayerPolicy{};
    return ResidualNet({ConvSpec(16, 32, 1, 1, 1, 12, true, q),
                        ConvSpec(32, 32, 3, 1, 32, 12, true, q),
                        ConvSpec(32, 16, 1, 1, 1, 12, false, q)},
                       q);
  };
  EXPECT_LT(RelativeError(spec(false), spec(true), 3), 0.05);
  HostNetwork network(spec(true), 1, 0);
  const std::vector<std::string> want = {
      "quantize@int8", "conv@int8",   "conv@int8",       "conv@int8",
      "conv@int8",     "add@int8",    "dequantize@int8", "gap@fp32",
      "quantize@int8", "linear@int8", "dequantize@int8"};
  EXPECT_EQ(StepsAndPrecisions(network), want);
  // The add timed alone and inside passes runs on what the pass gives it.
  EXPECT_GT(network.TimeStep(5, {.warmups = 1, .reps = 3}).min_us, 0.0);
  EXPECT_EQ(network.TimeStepsInPass({.warmups = 1, .reps = 3}).size(), want.size());
}

TEST(HostInt8, RefusesWhatHasNoKernelHereNamingTheLayer) {
  Layer conv{LayerOp::kConv, 8, 8, 3, 1, 1, 1, 8, {}};
  conv.policy.float_format = FloatFormat::kFp16;
  EXPECT_TRUE(test::ThrowsWith<UnsupportedError>([&] { HostLayerPrecision(conv, 4); },
                                                 {"layer 4", "conv 8->8", "fp16"}));
  conv.policy.float_format = FloatFormat::kBf16;
  EXPECT_EQ(HostLayerPrecision(conv, 4), HostPrecision::kBf16);
  conv.policy = {};
  conv.policy.w_bits = conv.policy.a_bits = 4;
  EXPECT_TRUE(test::ThrowsWith<UnsupportedError>([&] { HostLayerPrecision(conv, 2); },
                                                 {"layer 2", "w4a4"}));
  conv.policy = Int8();
  conv.policy.sparsity = 0.5;
  conv.policy.pattern = SparsityPattern::kUnstructured;
  EXPECT_TRUE(test::ThrowsWith<UnsupportedError>([&] { HostLayerPrecision(conv, 0); }, {"sparse"}));
}

LayerPolicy Bf16() {
  LayerPolicy p;
  p.float_format = FloatFormat::kBf16;
  return p;
}

// bf16 needs the CPU's bf16 instructions; elsewhere the host refuses it, saying why. Where the
// CPU has them, a refusal is a failure, not a reason to skip.
bool HostRunsBf16(std::string* why) {
  const bool native = __builtin_cpu_supports("avx512bf16");
  try {
    HostNetwork probe(ConvSpec(8, 8, 3, 1, 1, 8, true, Bf16()), 1, 0);
    return true;
  } catch (const UnsupportedError& e) {
    *why = e.what();
    EXPECT_FALSE(native) << "this CPU has AVX512-BF16, yet: " << *why;
    EXPECT_NE(why->find("bf16"), std::string::npos) << *why;
    return false;
  }
}

class HostBf16Conv : public ::testing::TestWithParam<ConvCase> {};

// Weights and inputs rounded to bf16's 8-bit significand (relative error 2^-9 each), products
// summed in fp32: well under 2% of the output range.
TEST_P(HostBf16Conv, MatchesFloatReferenceWithinRoundingError) {
  std::string why;
  if (!HostRunsBf16(&why)) GTEST_SKIP() << why;
  const ConvCase c = GetParam();
  const double error =
      RelativeError(ConvSpec(c.cin, c.cout, c.k, c.stride, c.groups, c.size, c.relu, {}),
                    ConvSpec(c.cin, c.cout, c.k, c.stride, c.groups, c.size, c.relu, Bf16()), 2);
  EXPECT_LT(error, 0.02);
  EXPECT_GT(error, 0.0) << "bf16 rounding must show: the layer ran in fp32";
}

INSTANTIATE_TEST_SUITE_P(Shapes, HostBf16Conv,
                         ::testing::Values(ConvCase{16, 32, 3, 1, 1, 14, true},
                                           ConvCase{32, 64, 1, 1, 1, 14, false},
                                           ConvCase{24, 24, 3, 2, 24, 15, true},
                                           ConvCase{3, 16, 7, 2, 1, 32, true}));

TEST(HostBf16, NetworkOfAllThreePrecisionsMatchesFloat) {
  std::string why;
  if (!HostRunsBf16(&why)) GTEST_SKIP() << why;
  // bf16 stem and 1x1, int8 1x1, fp32 depthwise, bf16 linear: every hand-over between precisions.
  auto spec = [](bool mixed) {
    const LayerPolicy bf16 = mixed ? Bf16() : LayerPolicy{};
    const LayerPolicy int8 = mixed ? Int8() : LayerPolicy{};
    NetworkSpec s = ConvSpec(3, 16, 3, 1, 1, 12, true, bf16);
    for (const auto& l : ConvSpec(16, 16, 1, 1, 1, 12, true, bf16).layers) s.layers.push_back(l);
    for (const auto& l : ConvSpec(16, 24, 1, 1, 1, 12, true, int8).layers) s.layers.push_back(l);
    for (const auto& l : ConvSpec(24, 24, 3, 1, 24, 12, true, {}).layers) s.layers.push_back(l);
    s.layers.push_back({LayerOp::kGlobalAvgPool, 24, 24, 12, 1, 1, 0, 12, {}});
    s.layers.push_back({LayerOp::kLinear, 24, 10, 1, 1, 1, 0, 1, bf16});
    s.classes = 10;
    return s;
  };
  EXPECT_LT(RelativeError(spec(false), spec(true), 2), 0.05);
  // Consecutive bf16 layers hand over in bf16; conversions only where the precision changes.
  HostNetwork network(spec(true), 1, 0);
  const std::vector<std::string> precisions = StepsAndPrecisions(network);
  const std::vector<std::string> want = {
      "quantize@bf16", "conv@bf16", "conv@bf16",     "dequantize@bf16", "quantize@int8",
      "conv@int8",     "dequantize@int8", "conv@fp32", "gap@fp32",      "quantize@bf16",
      "linear@bf16",   "dequantize@bf16"};
  EXPECT_EQ(precisions, want);
}

}  // namespace
}  // namespace hwnas
