// An integer-only roofline device (no float entry in peak_tops): float layers and a layer's float
// operand are quantized to its widest native width; a policy's bits it lacks either widen
// (next_supported) or, with `unsupported_bits: dequantize`, need float arithmetic it does not
// have: a per-layer error naming what it runs.
#include <gtest/gtest.h>

#include <string>

#include "hwmodels/device_model.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;

std::string DeviceYaml(const std::string& peak_tops, const std::string& unsupported) {
  return "name: intonly\n"
         "kind: roofline\n"
         "compute:\n"
         "  peak_tops: " + peak_tops + "\n"
         "  unsupported_bits: " + unsupported + "\n"
         "memory:\n"
         "  bandwidth_gbs: 10\n";
}

LayerPolicy Bits(int w, int a) {
  LayerPolicy p;
  p.w_bits = w;
  p.a_bits = a;
  return p;
}

// conv 3->8 (policy `first`), bn, conv 8->8 (policy `second`), on 8 x 8 inputs.
NetworkSpec TwoConvs(LayerPolicy first, LayerPolicy second) {
  NetworkSpec spec;
  spec.in_channels = 3;
  spec.in_size = 8;
  spec.classes = 8;
  spec.layers = {{LayerOp::kConv, 3, 8, 3, 1, 1, 1, 8, first},
                 {LayerOp::kBatchNorm, 8, 8, 1, 1, 1, 0, 8, {}},
                 {LayerOp::kConv, 8, 8, 3, 1, 1, 1, 8, second}};
  return spec;
}

// The precision of the step whose first layer is `layer`.
std::string PrecisionOf(const DeviceCost& cost, int layer) {
  for (const auto& step : cost.layers) {
    if (step.first_layer == layer && step.op != "convert") return step.precision;
  }
  return "(no step)";
}

TEST(IntOnlyDevice, DequantizingNeedsFloatArithmeticItLacks) {
  TempDir dir;
  const auto device = LoadDeviceModel(dir.Write("intonly.yaml", DeviceYaml("{int8: 1.0}", "dequantize")));
  const DeviceCost cost = device->Cost(TwoConvs(Bits(8, 8), Bits(4, 4)), {.breakdown = true});
  EXPECT_FALSE(cost.ok);
  EXPECT_EQ(cost.error, "intonly: layer 2 (conv): no fp32 arithmetic on this device; it runs: int8");
  // The first conv alone is fine: its bits are native.
  const DeviceCost first = device->Cost(TwoConvs(Bits(8, 8), Bits(8, 8)), {.breakdown = true});
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(PrecisionOf(first, 0), "int8");
  EXPECT_GT(first.latency_ms, 0);
}

TEST(IntOnlyDevice, FloatLayersAndFloatOperandsRunAtTheWidestNativeWidth) {
  TempDir dir;
  const auto device = LoadDeviceModel(dir.Write("intonly.yaml", DeviceYaml("{int4: 4.0, int8: 1.0}", "dequantize")));
  // w4 weights with float activations: the activations quantized to int8.
  const DeviceCost cost = device->Cost(TwoConvs(Bits(4, 32), Bits(32, 32)), {.breakdown = true});
  ASSERT_TRUE(cost.ok) << cost.error;
  EXPECT_EQ(PrecisionOf(cost, 0), "int8");
  EXPECT_EQ(PrecisionOf(cost, 2), "fp32->int8");
  // w4a4 is native here.
  const DeviceCost native = device->Cost(TwoConvs(Bits(4, 4), Bits(4, 4)), {.breakdown = true});
  ASSERT_TRUE(native.ok) << native.error;
  EXPECT_EQ(PrecisionOf(native, 0), "int4");
  // w2a2 is not: dequantize needs fp32.
  const DeviceCost low = device->Cost(TwoConvs(Bits(2, 2), Bits(8, 8)));
  EXPECT_FALSE(low.ok);
  EXPECT_EQ(low.error, "intonly: layer 0 (conv): no fp32 arithmetic on this device; it runs: int4, int8");
}

TEST(IntOnlyDevice, NextSupportedWidensInstead) {
  TempDir dir;
  const auto device = LoadDeviceModel(dir.Write("intonly.yaml", DeviceYaml("{int8: 1.0}", "next_supported")));
  const DeviceCost cost = device->Cost(TwoConvs(Bits(8, 8), Bits(4, 4)), {.breakdown = true});
  ASSERT_TRUE(cost.ok) << cost.error;
  EXPECT_EQ(PrecisionOf(cost, 2), "int4->int8");
}

TEST(IntOnlyDevice, WithFloatArithmeticDequantizeComputesInFloat) {
  TempDir dir;
  const auto device =
      LoadDeviceModel(dir.Write("mixed.yaml", DeviceYaml("{int8: 1.0, fp32: 0.25}", "dequantize")));
  const DeviceCost cost = device->Cost(TwoConvs(Bits(8, 8), Bits(4, 4)), {.breakdown = true});
  ASSERT_TRUE(cost.ok) << cost.error;
  EXPECT_EQ(PrecisionOf(cost, 2), "int4->fp32 (dequantized)");
}

}  // namespace
}  // namespace hwnas
