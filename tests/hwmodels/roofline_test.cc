// The roofline device kind against numbers worked out by hand from a fixture device with round
// figures. Unless a test says otherwise the device is:
//   peak 1 TOPS fp32, 4 fp16, 8 int8 (one MAC = 2 ops, so fp32 does 0.5e12 MAC/s at peak)
//   efficiency default {compute 0.5, bandwidth 0.8}: fp32 runs 2.5e11 MAC/s, memory 16e9 B/s
//   20 GB/s DRAM, no on-chip memory, overhead 5 us per step, eager dispatch 50 us per op
//   2:4 sparsity 2x faster, unstructured sparsity pays below density 0.1 at efficiency 0.5
//   energy 4 / 1 / 0.5 pJ per MAC (fp32 / fp16 / int8), 100 pJ per byte, 2 W static
// The network's input arrives in the run's float format; a step that reads its data at another
// width is preceded by a "convert" step (a memory-bound quantize or dequantize pass), so tests of
// a quantized layer look at the layer's own step.
// Two layers recur:
//   A = conv 3x3, 64 -> 64 channels, 32x32, stride 1, padding 1: compute-bound.
//       MACs   = 32*32 * 64 * 64 * 9                    = 37,748,736
//       bytes  = 36,864 weights * 4 + 2 * 65,536 acts * 4 = 147,456 + 524,288 = 671,744
//       time   = max(37,748,736 / 2.5e11 = 150.994944 us, 671,744 / 16e9 = 41.984 us) + 5
//              = 155.994944 us
//   B = conv 1x1, 64 -> 64 channels, 64x64: memory-bound.
//       MACs   = 64*64 * 64 * 64                         = 16,777,216
//       bytes  = 4,096 weights * 4 + 2 * 262,144 acts * 4 = 16,384 + 2,097,152 = 2,113,536
//       time   = max(16,777,216 / 2.5e11 = 67.108864 us, 2,113,536 / 16e9 = 132.096 us) + 5
//              = 137.096 us
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/errors.h"
#include "hwmodels/device_model.h"
#include "hwmodels/roofline.h"
#include "layer_builders.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::Conv;
using test::Elementwise;
using test::Net;
using test::TempDir;
using test::ThrowsWith;

// The arithmetic is exact up to rounding of doubles.
constexpr double kRelativeTolerance = 1e-9;

#define EXPECT_CLOSE(actual, expected) \
  EXPECT_NEAR((actual), (expected), kRelativeTolerance * std::abs(expected))

struct FixtureDevice {
  std::string peak_tops = "{fp32: 1, fp16: 4, int8: 8}";
  std::string unsupported_bits = "next_supported";
  std::string compute_extra;  // more keys under compute
  std::string sparse_extra;   // more keys under sparse
  std::string energy =
      "energy:\n"
      "  pj_per_mac: {fp32: 4, fp16: 1, int8: 0.5}\n"
      "  pj_per_byte: 100\n"
      "  static_w: 2\n";
  std::string on_chip_mb = "0";
  std::string efficiency = "  default: {compute: 0.5, bandwidth: 0.8}\n";
  std::string extra;  // more top-level keys

  std::string Text() const {
    return "name: fixture-roofline\n"
           "description: a roofline with round numbers\n"
           "kind: roofline\n"
           "compute:\n"
           "  peak_tops: " + peak_tops + "\n"
           "  unsupported_bits: " + unsupported_bits + "\n" + compute_extra +
           "memory:\n"
           "  bandwidth_gbs: 20\n"
           "  on_chip_mb: " + on_chip_mb + "\n"
           "overhead_us: 5\n"
           "eager_overhead_us: 50\n"
           "sparse:\n"
           "  n_of_m_speedup: {\"2:4\": 2}\n"
           "  unstructured_density_below: 0.1\n"
           "  unstructured_efficiency: 0.5\n" + sparse_extra +
           "efficiency:\n" +
           efficiency + energy + extra;
  }
};

class RooflineTest : public ::testing::Test {
 protected:
  std::unique_ptr<DeviceModel> Device(const FixtureDevice& device = {}) const {
    return LoadDeviceModel(dir_.Write("fixture_roofline.yaml", device.Text()));
  }

  // Costs with the breakdown on and insists the cost is ok.
  static DeviceCost CostOk(const DeviceModel& device, const NetworkSpec& spec,
                           CostOptions options = {}) {
    options.breakdown = true;
    DeviceCost cost = device.Cost(spec, options);
    EXPECT_TRUE(cost.ok) << cost.error;
    return cost;
  }

  TempDir dir_;
};

Layer LayerA() { return Conv(64, 64, 3, 32); }
Layer LayerB() { return Conv(64, 64, 1, 64); }

// The one step of `cost` whose op is `op`.
const LayerCost& StepOf(const DeviceCost& cost, const std::string& op) {
  static const LayerCost kNone;
  const LayerCost* found = nullptr;
  for (const auto& step : cost.layers) {
    if (step.op != op) continue;
    EXPECT_EQ(found, nullptr) << "two steps " << op;
    found = &step;
  }
  EXPECT_NE(found, nullptr) << "no step " << op;
  return found ? *found : kNone;
}

NetworkSpec WithPolicy(Layer layer, LayerPolicy policy) {
  layer.policy = policy;
  return Net({layer});
}

LayerPolicy Bits(int w_bits, int a_bits) {
  LayerPolicy policy;
  policy.w_bits = w_bits;
  policy.a_bits = a_bits;
  return policy;
}

LayerPolicy Sparse(SparsityPattern pattern, double sparsity, int n = 0, int m = 0) {
  LayerPolicy policy;
  policy.pattern = pattern;
  policy.sparsity = sparsity;
  policy.n_of_m_n = n;
  policy.n_of_m_m = m;
  return policy;
}

TEST_F(RooflineTest, ComputeBoundConvIsTwiceMacsOverPeakTimesEfficiencyPlusOverhead) {
  const auto device = Device();
  EXPECT_EQ(device->info().kind, "roofline");
  const DeviceCost cost = CostOk(*device, Net({LayerA()}));
  ASSERT_EQ(cost.layers.size(), 1u);
  const LayerCost& step = cost.layers[0];
  EXPECT_EQ(step.macs, 37748736.0);
  EXPECT_EQ(step.bytes, 671744.0);
  EXPECT_EQ(step.bound, "compute");
  EXPECT_EQ(step.op, "conv3x3");
  EXPECT_EQ(step.precision, "fp32");
  EXPECT_EQ(step.efficiency, "conv/fp32");
  // 2 * 37,748,736 / (1e12 * 0.5) s = 150.994944 us, + 5 us
  EXPECT_CLOSE(cost.latency_ms, 0.155994944);
  EXPECT_CLOSE(step.latency_ms, cost.latency_ms);
  EXPECT_EQ(CostSourceName(cost.source), "predicted");
}

TEST_F(RooflineTest, MemoryBoundLayerIsBytesOverBandwidthPlusOverhead) {
  const DeviceCost cost = CostOk(*Device(), Net({LayerB()}));
  ASSERT_EQ(cost.layers.size(), 1u);
  EXPECT_EQ(cost.layers[0].macs, 16777216.0);
  // weights 4,096 * 4 + activations (in + out) 2 * 262,144 * 4
  EXPECT_EQ(cost.layers[0].bytes, 2113536.0);
  EXPECT_EQ(cost.layers[0].bound, "memory");
  EXPECT_EQ(cost.layers[0].efficiency, "pointwise/fp32");
  // 2,113,536 / (20e9 * 0.8) s = 132.096 us, + 5 us
  EXPECT_CLOSE(cost.latency_ms, 0.137096);
}

TEST_F(RooflineTest, BatchScalesWorkAndActivationsButNotWeights) {
  CostOptions options;
  options.batch = 2;
  const DeviceCost cost = CostOk(*Device(), Net({LayerA()}), options);
  EXPECT_EQ(cost.layers[0].macs, 2 * 37748736.0);
  EXPECT_EQ(cost.layers[0].bytes, 147456.0 + 2 * 524288.0);
  // 75,497,472 / 2.5e11 = 301.989888 us + 5
  EXPECT_CLOSE(cost.latency_ms, 0.306989888);
}

TEST_F(RooflineTest, Int8WeightsMoveAQuarterOfTheFp32Bytes) {
  const auto device = Device();
  const DeviceCost fp32 = CostOk(*device, Net({LayerB()}));
  ASSERT_EQ(fp32.layers.size(), 1u);  // fp32 data in, fp32 layer: no conversion
  const DeviceCost int8 = CostOk(*device, WithPolicy(LayerB(), Bits(8, 8)));
  ASSERT_EQ(int8.layers.size(), 2u);
  const LayerCost& layer = StepOf(int8, "conv1x1");
  EXPECT_EQ(layer.precision, "int8");
  EXPECT_EQ(layer.efficiency, "pointwise/int8");
  // weights 4,096 * 1 + activations 524,288 * 1: a quarter of 2,113,536
  EXPECT_EQ(layer.bytes, 528384.0);
  EXPECT_EQ(layer.bytes * 4, fp32.layers[0].bytes);
  // max(16,777,216 / (8e12 * 0.5 / 2) = 8.388608 us, 528,384 / 16e9 = 33.024 us) + 5
  EXPECT_CLOSE(layer.latency_ms, 0.038024);
  // The fp32 input is quantized first: 262,144 values read at 4 bytes, written at 1:
  // 1,310,720 / 16e9 = 81.92 us + 5.
  const LayerCost& convert = StepOf(int8, "convert");
  EXPECT_EQ(convert.precision, "fp32->int8");
  EXPECT_EQ(convert.bytes, 262144.0 * 5);
  EXPECT_EQ(convert.layer_count, 0);
  EXPECT_CLOSE(convert.latency_ms, 0.08692);
  EXPECT_CLOSE(int8.latency_ms, 0.038024 + 0.08692);

  // Weight-only int8: float arithmetic and activations (no conversion), weights at one byte.
  const DeviceCost w8 = CostOk(*device, WithPolicy(LayerB(), Bits(8, 32)));
  ASSERT_EQ(w8.layers.size(), 1u);
  EXPECT_EQ(w8.layers[0].precision, "w8->fp32");
  const double activation_bytes = 2 * 262144.0 * 4;
  EXPECT_EQ(w8.layers[0].bytes - activation_bytes, 4096.0);
  EXPECT_EQ((fp32.layers[0].bytes - activation_bytes) / (w8.layers[0].bytes - activation_bytes),
            4.0);
  // 2,101,248 / 16e9 = 131.328 us + 5
  EXPECT_CLOSE(w8.latency_ms, 0.136328);
}

TEST_F(RooflineTest, TwoOfFourWithAListedSpeedupHalvesComputeAndStoresHalfTheWeights) {
  const DeviceCost cost =
      CostOk(*Device(), WithPolicy(LayerA(), Sparse(SparsityPattern::kNofM, 0.5, 2, 4)));
  EXPECT_EQ(cost.layers[0].macs, 37748736.0);  // the work is the same; the kernel is faster
  // kept weights 36,864 * 2/4 = 18,432: 18,432 * 4 bytes + 18,432 * log2(4) / 8 index bytes
  // = 73,728 + 4,608 = 78,336; + activations 524,288
  EXPECT_EQ(cost.layers[0].bytes, 602624.0);
  EXPECT_EQ(cost.layers[0].bound, "compute");
  // 150.994944 / 2 = 75.497472 us (memory 602,624 / 16e9 = 37.664 us) + 5
  EXPECT_CLOSE(cost.latency_ms, 0.080497472);
}

TEST_F(RooflineTest, NOfMWithoutAListedSpeedupCostsAsDense) {
  const auto device = Device();
  const DeviceCost dense = CostOk(*device, Net({LayerA()}));
  const DeviceCost one_of_four =
      CostOk(*device, WithPolicy(LayerA(), Sparse(SparsityPattern::kNofM, 0.75, 1, 4)));
  EXPECT_EQ(one_of_four.layers[0].bytes, dense.layers[0].bytes);
  EXPECT_EQ(one_of_four.latency_ms, dense.latency_ms);
  EXPECT_CLOSE(one_of_four.latency_ms, 0.155994944);
}

TEST_F(RooflineTest, UnstructuredSparsityPaysOnlyBelowTheDensityThreshold) {
  const auto device = Device();
  // Density 0.5 is above 0.1: the dense kernel runs.
  const DeviceCost half =
      CostOk(*device, WithPolicy(LayerA(), Sparse(SparsityPattern::kUnstructured, 0.5)));
  EXPECT_EQ(half.layers[0].macs, 37748736.0);
  EXPECT_EQ(half.layers[0].bytes, 671744.0);
  EXPECT_CLOSE(half.latency_ms, 0.155994944);
  // Density 0.05: MACs 37,748,736 * 0.05 = 1,887,436.8 at efficiency 0.5:
  //   compute 1,887,436.8 / (2.5e11 * 0.5) = 15.0994944 us;
  //   kept weights 1,843.2 * 4 bytes + min(bitmap 36,864 / 8 = 4,608, 16-bit indices 3,686.4)
  //   = 11,059.2; + activations 524,288 = 535,347.2 bytes -> 33.4592 us: memory-bound now.
  const DeviceCost sparse =
      CostOk(*device, WithPolicy(LayerA(), Sparse(SparsityPattern::kUnstructured, 0.95)));
  EXPECT_CLOSE(sparse.layers[0].macs, 1887436.8);
  EXPECT_CLOSE(sparse.layers[0].bytes, 535347.2);
  EXPECT_EQ(sparse.layers[0].bound, "memory");
  EXPECT_CLOSE(sparse.latency_ms, 0.0384592);
}

TEST_F(RooflineTest, ChannelSparsityScalesMacsWeightsAndOutputs) {
  const DeviceCost cost =
      CostOk(*Device(), WithPolicy(LayerA(), Sparse(SparsityPattern::kChannel, 0.5)));
  EXPECT_EQ(cost.layers[0].macs, 37748736.0 / 2);
  // weights 147,456 / 2 + input 262,144 + output 262,144 / 2
  EXPECT_EQ(cost.layers[0].bytes, 73728.0 + 262144.0 + 131072.0);
  // 18,874,368 / 2.5e11 = 75.497472 us + 5
  EXPECT_CLOSE(cost.latency_ms, 0.080497472);
}

// A runtime that computes pruned channels in the dense kernel (hwnas's host) saves nothing.
TEST_F(RooflineTest, PrunedChannelsComputedCostAsTheDenseLayer) {
  FixtureDevice dense_kernels;
  dense_kernels.sparse_extra = "  pruned_channels: computed\n";
  const auto device = Device(dense_kernels);
  const DeviceCost pruned =
      CostOk(*device, WithPolicy(LayerA(), Sparse(SparsityPattern::kChannel, 0.5)));
  const DeviceCost dense = CostOk(*device, Net({LayerA()}));
  EXPECT_EQ(pruned.latency_ms, dense.latency_ms);
  EXPECT_EQ(pruned.layers[0].macs, 37748736.0);
}

// Without weight-only kernels, one low-bit operand takes the layer into the integer kernels:
// w8a32 and w32a8 cost as w8a8, input quantized first; with them, w8a32 computes in float.
TEST_F(RooflineTest, WithoutWeightOnlyKernelsOneLowBitOperandRunsTheLayerInInt8) {
  FixtureDevice integer_kernels;
  integer_kernels.compute_extra = "  weight_only_kernels: false\n";
  const auto device = Device(integer_kernels);
  const DeviceCost int8 = CostOk(*device, WithPolicy(LayerB(), Bits(8, 8)));
  for (const LayerPolicy& policy : {Bits(8, 32), Bits(32, 8)}) {
    const DeviceCost cost = CostOk(*device, WithPolicy(LayerB(), policy));
    EXPECT_EQ(cost.latency_ms, int8.latency_ms);
    EXPECT_EQ(StepOf(cost, "conv1x1").precision, "int8");
    EXPECT_EQ(StepOf(cost, "convert").precision, "fp32->int8");
  }
  EXPECT_EQ(StepOf(CostOk(*Device(), WithPolicy(LayerB(), Bits(8, 32))), "conv1x1").precision,
            "w8->fp32");

  FixtureDevice no_int;
  no_int.peak_tops = "{fp32: 1, fp16: 4}";
  no_int.energy = "";
  no_int.compute_extra = "  weight_only_kernels: false\n";
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Device(no_int); },
                                      {"fixture_roofline.yaml:7", "compute.weight_only_kernels",
                                       "give an int<b> precision in peak_tops"}));
}

TEST_F(RooflineTest, LowRankConvCostsAsItsTwoFactors) {
  LayerPolicy policy;
  policy.rank_ratio = 0.25;  // full rank min(64, 64 * 9) = 64 -> r = 16
  const DeviceCost cost = CostOk(*Device(), WithPolicy(LayerA(), policy));
  ASSERT_EQ(cost.layers.size(), 2u);
  const LayerCost& first = cost.layers[0];
  const LayerCost& second = cost.layers[1];
  // 3x3, 64 -> 16 at 32x32: 32*32 * 16 * 64 * 9
  EXPECT_EQ(first.op, "conv3x3");
  EXPECT_EQ(first.macs, 9437184.0);
  EXPECT_EQ(first.bytes, 16 * 64 * 9 * 4 + 262144.0 + 65536.0);
  EXPECT_EQ(first.efficiency, "conv/fp32");
  // 1x1, 16 -> 64 at 32x32: 32*32 * 64 * 16
  EXPECT_EQ(second.op, "conv1x1");
  EXPECT_EQ(second.macs, 1048576.0);
  EXPECT_EQ(second.bytes, 64 * 16 * 4 + 65536.0 + 262144.0);
  EXPECT_EQ(second.efficiency, "pointwise/fp32");
  // Both steps stand for layer 0.
  EXPECT_EQ(first.first_layer, 0);
  EXPECT_EQ(second.first_layer, 0);
  EXPECT_EQ(first.macs + second.macs, 10485760.0);
  // 9,437,184 / 2.5e11 = 37.748736 us (compute) + 5, then max(4.194304 us, 331,776 / 16e9 =
  // 20.736 us) + 5
  EXPECT_CLOSE(first.latency_ms, 0.042748736);
  EXPECT_CLOSE(second.latency_ms, 0.025736);
  EXPECT_CLOSE(cost.latency_ms, 0.068484736);
}

TEST_F(RooflineTest, FusedConvBnReluIsOneStepThatSkipsTheIntermediateActivations) {
  const NetworkSpec spec = Net({LayerA(), Elementwise(LayerOp::kBatchNorm, 64, 32),
                                Elementwise(LayerOp::kRelu, 64, 32)});
  // Unfused: conv 155.994944 us; bn and relu each max(65,536 / 2.5e11 = 0.262144 us,
  // 524,288 / 16e9 = 32.768 us) + 5 = 37.768 us.
  const DeviceCost unfused = CostOk(*Device(), spec);
  ASSERT_EQ(unfused.layers.size(), 3u);
  double unfused_bytes = 0;
  for (const auto& step : unfused.layers) unfused_bytes += step.bytes;
  EXPECT_EQ(unfused_bytes, 671744.0 + 2 * 524288.0);
  EXPECT_CLOSE(unfused.latency_ms, 0.231530944);

  FixtureDevice fusing;
  fusing.extra = "fuses: [conv+bn+relu]\n";
  const DeviceCost fused = CostOk(*Device(fusing), spec);
  ASSERT_EQ(fused.layers.size(), 1u);
  const LayerCost& step = fused.layers[0];
  EXPECT_EQ(step.op, "conv3x3+bn+relu");
  EXPECT_EQ(step.first_layer, 0);
  EXPECT_EQ(step.layer_count, 3);
  EXPECT_EQ(step.macs, 37748736.0 + 65536.0 + 65536.0);
  // Weights, the conv's input and the relu's output: the two intermediate tensors are neither
  // written nor read back (2 * 2 * 262,144 bytes saved).
  EXPECT_EQ(step.bytes, 671744.0);
  EXPECT_EQ(unfused_bytes - step.bytes, 4 * 262144.0);
  // 37,879,808 / 2.5e11 = 151.519232 us + one overhead
  EXPECT_CLOSE(fused.latency_ms, 0.156519232);
}

TEST_F(RooflineTest, EagerModeFusesNothingAndEveryOpCostsAtLeastTheDispatch) {
  FixtureDevice fusing;
  fusing.extra = "fuses: [conv+bn+relu]\n";
  const auto device = Device(fusing);
  const NetworkSpec spec = Net({LayerA(), Elementwise(LayerOp::kBatchNorm, 64, 32),
                                Elementwise(LayerOp::kRelu, 64, 32)});
  CostOptions eager;
  eager.mode = ExecutionMode::kEager;
  const DeviceCost cost = CostOk(*device, spec, eager);
  ASSERT_EQ(cost.layers.size(), 3u);
  // The conv's 155.994944 us is above the 50 us dispatch; bn and relu (37.768 us) pay 50 each.
  EXPECT_EQ(cost.layers[0].bound, "compute");
  EXPECT_CLOSE(cost.layers[0].latency_ms, 0.155994944);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(cost.layers[i].bound, "dispatch");
    EXPECT_CLOSE(cost.layers[i].latency_ms, 0.050);
  }
  EXPECT_CLOSE(cost.latency_ms, 0.255994944);
  for (const auto& step : cost.layers) EXPECT_GE(step.latency_ms, 0.050);
}

// Every change of width is a conversion step of its own. An add reads its block's saved input
// too: kept at the width the block's first step read it, it is converted like the current one.
// A runtime that converts through the float format takes two passes from int8 to fp16.
TEST_F(RooflineTest, ConversionsFollowEveryWidthChangeAndAddsConvertTheirSavedInput) {
  auto at = [](Layer layer, LayerPolicy policy) {
    layer.policy = policy;
    return layer;
  };
  LayerPolicy fp16;
  fp16.float_format = FloatFormat::kFp16;
  Layer add = Elementwise(LayerOp::kAdd, 16, 8);
  add.residual_from = 1;
  const NetworkSpec spec = Net({at(Conv(16, 16, 1, 8), Bits(8, 8)),  // fp32 input -> int8
                                at(Conv(16, 16, 1, 8), Bits(8, 8)),  // block kept at int8
                                at(Conv(16, 16, 1, 8), Bits(8, 8)), add,  // both int8 -> fp32
                                at(Conv(16, 16, 1, 8), Bits(8, 8)),       // fp32 -> int8
                                at(Conv(16, 16, 1, 8), fp16)});           // int8 -> fp16
  auto conversions = [&](const FixtureDevice& fixture) {
    std::vector<std::string> got;
    for (const auto& step : CostOk(*Device(fixture), spec).layers) {
      if (step.op != "convert") continue;
      got.push_back(std::to_string(step.first_layer) + ":" + step.precision);
    }
    return got;
  };
  EXPECT_EQ(conversions({}),
            (std::vector<std::string>{"0:fp32->int8", "3:int8->fp32", "3:int8->fp32",
                                      "4:fp32->int8", "5:int8->fp16"}));
  FixtureDevice through_float;
  through_float.extra = "converts_through_float: true\n";
  EXPECT_EQ(conversions(through_float),
            (std::vector<std::string>{"0:fp32->int8", "3:int8->fp32", "3:int8->fp32",
                                      "4:fp32->int8", "5:int8->fp32", "5:fp32->fp16"}));
  // A runtime with integer adds keeps the block at int8 through its add.
  FixtureDevice integer_adds;
  integer_adds.extra = "integer_adds: true\n";
  EXPECT_EQ(conversions(integer_adds),
            (std::vector<std::string>{"0:fp32->int8", "5:int8->fp16"}));
  const DeviceCost cost = CostOk(*Device(integer_adds), spec);
  const auto add_step = std::find_if(cost.layers.begin(), cost.layers.end(),
                                     [](const LayerCost& step) { return step.op == "add"; });
  ASSERT_NE(add_step, cost.layers.end());
  EXPECT_EQ(add_step->precision, "int8");
  EXPECT_LT(cost.latency_ms, CostOk(*Device({}), spec).latency_ms);
}

// A block whose first layer is factorised keeps its input as the first factor read it: here
// the float copy, so its add converts only the block's int8 output.
TEST_F(RooflineTest, ABlockStartingWithALowRankLayerKeepsTheInputItsFirstFactorRead) {
  LayerPolicy int8_half_rank = Bits(8, 8);
  int8_half_rank.rank_ratio = 0.5;
  Layer first = Conv(16, 16, 1, 8);
  first.policy = int8_half_rank;
  Layer second = Conv(16, 16, 1, 8);
  second.policy = Bits(8, 8);
  Layer add = Elementwise(LayerOp::kAdd, 16, 8);
  add.residual_from = 0;
  std::vector<std::string> conversions;
  for (const auto& step : CostOk(*Device(), Net({first, second, add})).layers) {
    if (step.op != "convert") continue;
    conversions.push_back(std::to_string(step.first_layer) + ":" + step.precision);
  }
  EXPECT_EQ(conversions, (std::vector<std::string>{"0:fp32->int8", "2:int8->fp32"}));
}

TEST_F(RooflineTest, NextSupportedRunsInt6AtInt8) {
  const auto device = Device();
  const DeviceCost int6 = CostOk(*device, WithPolicy(LayerA(), Bits(6, 6)));
  const DeviceCost int8 = CostOk(*device, WithPolicy(LayerA(), Bits(8, 8)));
  const LayerCost& layer = StepOf(int6, "conv3x3");
  EXPECT_EQ(layer.precision, "int6->int8");
  EXPECT_EQ(layer.efficiency, "conv/int8");
  // Stored at the width it runs at: 36,864 + 131,072 bytes.
  EXPECT_EQ(layer.bytes, 167936.0);
  // 37,748,736 / (8e12 * 0.5 * 0.5) = 18.874368 us + 5
  EXPECT_CLOSE(layer.latency_ms, 0.023874368);
  // The input is quantized to int8 as for an int8 layer: 65,536 * (4 + 1) / 16e9 = 20.48 us + 5.
  EXPECT_EQ(StepOf(int6, "convert").precision, "fp32->int8");
  EXPECT_CLOSE(int6.latency_ms, 0.023874368 + 0.02548);
  EXPECT_EQ(int6.latency_ms, int8.latency_ms);
  EXPECT_EQ(StepOf(CostOk(*device, WithPolicy(LayerA(), Bits(4, 4))), "conv3x3").precision,
            "int4->int8");
}

TEST_F(RooflineTest, DequantizeRunsInt6InTheFloatFormatWithSixBitBytes) {
  FixtureDevice dequantizing;
  dequantizing.unsupported_bits = "dequantize";
  const auto device = Device(dequantizing);
  const DeviceCost fp32 = CostOk(*device, WithPolicy(LayerA(), Bits(6, 6)));
  const LayerCost& layer = StepOf(fp32, "conv3x3");
  EXPECT_EQ(layer.precision, "int6->fp32 (dequantized)");
  EXPECT_EQ(layer.efficiency, "conv/fp32");
  // (36,864 + 131,072) * 6 / 8
  EXPECT_EQ(layer.bytes, 125952.0);
  EXPECT_CLOSE(layer.latency_ms, 0.155994944);  // fp32 arithmetic, as A
  // The fp32 input is packed to 6 bits first: 65,536 * (4 + 0.75) bytes.
  EXPECT_EQ(StepOf(fp32, "convert").bytes, 65536 * 4.75);

  CostOptions half;
  half.float_format = FloatFormat::kFp16;
  const DeviceCost fp16 = CostOk(*device, WithPolicy(LayerA(), Bits(6, 6)), half);
  const LayerCost& half_layer = StepOf(fp16, "conv3x3");
  EXPECT_EQ(half_layer.precision, "int6->fp16 (dequantized)");
  EXPECT_EQ(half_layer.bytes, 125952.0);
  // 37,748,736 / (4e12 * 0.5 * 0.5) = 37.748736 us + 5
  EXPECT_CLOSE(half_layer.latency_ms, 0.042748736);
  // int8 is native: dequantize does not touch it.
  EXPECT_EQ(StepOf(CostOk(*device, WithPolicy(LayerA(), Bits(8, 8))), "conv3x3").precision,
            "int8");
}

TEST_F(RooflineTest, IntegerOnlyDeviceRunsFloatLayersAtItsWidestInt) {
  FixtureDevice integer;
  integer.peak_tops = "{int8: 8, int16: 2}";
  integer.energy = "";
  const auto device = Device(integer);
  EXPECT_FALSE(device->info().provides_energy);
  const DeviceCost cost = CostOk(*device, Net({LayerA(), Elementwise(LayerOp::kRelu, 64, 32)}));
  const LayerCost& conv = StepOf(cost, "conv3x3");
  EXPECT_EQ(conv.precision, "fp32->int16");
  EXPECT_EQ(StepOf(cost, "relu").precision, "int16");
  // 2 bytes a value: 36,864 * 2 + 131,072 * 2
  EXPECT_EQ(conv.bytes, 335872.0);
  // 37,748,736 / (2e12 * 0.5 * 0.5) = 75.497472 us + 5
  EXPECT_CLOSE(conv.latency_ms, 0.080497472);
  // The fp32 input is quantized once; the relu reads the conv's int16 output as it is.
  EXPECT_EQ(StepOf(cost, "convert").precision, "fp32->int16");
  EXPECT_EQ(cost.layers.size(), 3u);
  EXPECT_FALSE(cost.energy_mj.has_value());
  CostOptions half;
  half.float_format = FloatFormat::kFp16;
  EXPECT_EQ(StepOf(CostOk(*device, Net({LayerA()}), half), "conv3x3").precision, "fp16->int16");
}

TEST_F(RooflineTest, AFloatFormatTheDeviceLacksIsAnErrorListingWhatItRuns) {
  CostOptions bf16;
  bf16.float_format = FloatFormat::kBf16;
  const DeviceCost cost =
      Device()->Cost(Net({LayerA(), Elementwise(LayerOp::kRelu, 64, 32)}), bf16);
  EXPECT_FALSE(cost.ok);
  EXPECT_EQ(cost.error,
            "fixture-roofline: layer 0 (conv): no bf16 arithmetic on this device; it runs: fp16, "
            "fp32, int8");
  EXPECT_TRUE(cost.layers.empty());
  // A layer naming its own format is refused the same way.
  Layer layer = LayerA();
  layer.policy.float_format = FloatFormat::kFp8;
  const DeviceCost own = Device()->Cost(Net({Elementwise(LayerOp::kRelu, 64, 32), layer}));
  EXPECT_FALSE(own.ok);
  EXPECT_NE(own.error.find("layer 1 (conv): no fp8 arithmetic"), std::string::npos) << own.error;
}

TEST_F(RooflineTest, PrunesUnusedOpsSkipsRemovableLayers) {
  Layer removable = Elementwise(LayerOp::kBatchNorm, 64, 32);
  removable.removable = true;
  const NetworkSpec spec = Net({LayerA(), removable, Elementwise(LayerOp::kRelu, 64, 32)});
  // Without pruning: 155.994944 + 37.768 + 37.768 us.
  const DeviceCost kept = CostOk(*Device(), spec);
  EXPECT_EQ(kept.layers.size(), 3u);
  EXPECT_CLOSE(kept.latency_ms, 0.231530944);

  FixtureDevice pruning;
  pruning.extra = "prunes_unused_ops: true\n";
  const DeviceCost pruned = CostOk(*Device(pruning), spec);
  ASSERT_EQ(pruned.layers.size(), 2u);
  EXPECT_EQ(pruned.layers[0].first_layer, 0);
  EXPECT_EQ(pruned.layers[1].first_layer, 2);
  EXPECT_CLOSE(pruned.latency_ms, 0.193762944);
}

TEST_F(RooflineTest, EnergyIsMacsAndBytesAndStaticPowerOverTheLatency) {
  const auto device = Device();
  EXPECT_TRUE(device->info().provides_energy);
  // A in fp32: 37,748,736 MACs * 4 pJ + 671,744 bytes * 100 pJ + 2 W * 155.994944 us
  // = 150,994,944 + 67,174,400 + 311,989,888 pJ = 0.530159232 mJ
  const DeviceCost fp32 = CostOk(*device, Net({LayerA()}));
  ASSERT_TRUE(fp32.energy_mj.has_value());
  EXPECT_CLOSE(*fp32.energy_mj, 0.530159232);
  ASSERT_TRUE(fp32.layers[0].energy_mj.has_value());
  EXPECT_CLOSE(*fp32.layers[0].energy_mj, *fp32.energy_mj);
  // B in int8: 16,777,216 * 0.5 + 528,384 * 100 + 2 W * 38.024 us
  // = 8,388,608 + 52,838,400 + 76,048,000 pJ = 0.137275008 mJ; its input's conversion
  // 262,144 * 0.5 + 1,310,720 * 100 + 2 W * 86.92 us = 305,043,072 pJ
  const DeviceCost int8 = CostOk(*device, WithPolicy(LayerB(), Bits(8, 8)));
  EXPECT_CLOSE(*StepOf(int8, "conv1x1").energy_mj, 0.137275008);
  EXPECT_CLOSE(*StepOf(int8, "convert").energy_mj, 0.305043072);
  EXPECT_CLOSE(*int8.energy_mj, 0.137275008 + 0.305043072);
  // Steps add up.
  const DeviceCost both = CostOk(*device, Net({LayerA(), Elementwise(LayerOp::kRelu, 64, 32)}));
  EXPECT_CLOSE(*both.energy_mj, *both.layers[0].energy_mj + *both.layers[1].energy_mj);
}

TEST_F(RooflineTest, OnChipActivationsMoveOnlyTheWeights) {
  FixtureDevice cached;
  cached.on_chip_mb = "1";
  const auto device = Device(cached);
  // A's 671,744 bytes fit in 1 MB: only its 147,456 weight bytes move.
  const DeviceCost cost = CostOk(*device, Net({LayerA()}));
  EXPECT_EQ(cost.layers[0].bytes, 147456.0);
  // B's 2,113,536 bytes do not fit: everything moves.
  EXPECT_EQ(CostOk(*device, Net({LayerB()})).layers[0].bytes, 2113536.0);
}

TEST_F(RooflineTest, EfficiencyOfAKindAndPrecisionOverridesTheDefault) {
  FixtureDevice tuned;
  tuned.efficiency += "  conv/fp32: {compute: 0.25, bandwidth: 0.8, overhead_us: 1}\n";
  const auto device = Device(tuned);
  // 37,748,736 / (0.5e12 * 0.25) = 301.989888 us + 1 us
  const DeviceCost cost = CostOk(*device, Net({LayerA()}));
  EXPECT_CLOSE(cost.latency_ms, 0.302989888);
  // A pointwise conv keeps the default: B as before.
  EXPECT_CLOSE(CostOk(*device, Net({LayerB()})).latency_ms, 0.137096);
}

TEST_F(RooflineTest, AStridedDepthwiseConvHasItsOwnEfficiencyElseTheDepthwiseOne) {
  Layer plain = Conv(64, 64, 3, 32);
  plain.groups = 64;
  Layer strided = plain;
  strided.stride = 2;
  const std::string depthwise = "  depthwise/fp32: {compute: 0.5, bandwidth: 0.4, overhead_us: 1}\n";
  FixtureDevice base, copied, slower;
  base.efficiency += depthwise;
  copied.efficiency += depthwise + "  depthwise_strided/fp32: {compute: 0.5, bandwidth: 0.4, overhead_us: 1}\n";
  slower.efficiency += depthwise + "  depthwise_strided/fp32: {compute: 0.5, bandwidth: 0.2, overhead_us: 1}\n";
  const DeviceCost fallback = CostOk(*Device(base), Net({strided}));
  // Without its own entry, a strided depthwise conv runs at the depthwise one.
  EXPECT_CLOSE(fallback.latency_ms, CostOk(*Device(copied), Net({strided})).latency_ms);
  // Its own entry applies: memory-bound, so half the bandwidth doubles the time beside the 1 us.
  const DeviceCost own = CostOk(*Device(slower), Net({strided}));
  EXPECT_EQ(StepOf(own, "dwconv3x3").bound, "memory");
  EXPECT_CLOSE(own.latency_ms - 1e-3, 2 * (fallback.latency_ms - 1e-3));
  // A stride-1 depthwise conv keeps the depthwise entry.
  EXPECT_CLOSE(CostOk(*Device(slower), Net({plain})).latency_ms,
               CostOk(*Device(base), Net({plain})).latency_ms);
}

TEST_F(RooflineTest, Batch1KernelsTakeTheirOwnEfficiencyAtBatch1Only) {
  FixtureDevice device;
  device.extra = "batch1_kernels: true\n";
  device.efficiency += "  conv/fp32: {compute: 0.5, bandwidth: 0.8}\n"
                       "  conv/fp32@b1: {compute: 0.25, bandwidth: 0.8, overhead_us: 1}\n";
  const auto model = Device(device);
  // Batch 1: 37,748,736 / (0.5e12 * 0.25) = 301.989888 us + 1 us, under the batch-1 key.
  const DeviceCost single = CostOk(*model, Net({LayerA()}));
  EXPECT_CLOSE(single.latency_ms, 0.302989888);
  EXPECT_EQ(single.layers[0].efficiency, "conv/fp32@b1");
  // Batch 2: the batched entry, as BatchScalesWorkAndActivationsButNotWeights worked out.
  CostOptions two;
  two.batch = 2;
  const DeviceCost batched = CostOk(*model, Net({LayerA()}), two);
  EXPECT_CLOSE(batched.latency_ms, 0.306989888);
  EXPECT_EQ(batched.layers[0].efficiency, "conv/fp32");
  // A batch-1 step with no @b1 entry of its own falls back to the batched one: B as before.
  EXPECT_CLOSE(CostOk(*model, Net({LayerB()})).latency_ms, 0.137096);
  EXPECT_EQ(CostOk(*model, Net({LayerB()})).layers[0].efficiency, "pointwise/fp32@b1");
  // Without batch1_kernels a batch-1 step keys as any other.
  EXPECT_EQ(CostOk(*Device(), Net({LayerA()})).layers[0].efficiency, "conv/fp32");

  // Batch-1 kernels slower than the batch-2 ones on twice the work: batch 1 costs what the
  // padded batch-2 run costs, never more.
  FixtureDevice slow;
  slow.extra = device.extra;
  slow.efficiency += "  conv/fp32: {compute: 0.5, bandwidth: 0.8}\n"
                     "  conv/fp32@b1: {compute: 0.05, bandwidth: 0.8, overhead_us: 1}\n";
  EXPECT_CLOSE(CostOk(*Device(slow), Net({LayerA()})).latency_ms, 0.306989888);
}

}  // namespace
}  // namespace hwnas
