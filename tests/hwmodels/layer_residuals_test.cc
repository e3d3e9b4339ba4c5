// Layer residuals: the k-nearest-neighbour correction a calibrated roofline applies per unit
// (a layer with the batch norm and activation after it). The factor is the exponent of a
// distance-weighted mean of log residuals, so residuals that agree give exactly their factor;
// residuals fitted on measured layers that a fixture makes 1.3x the roofline bring every
// network of those layers to exactly 1.3x, and a network's own row puts its layers in context;
// the YAML form round-trips and bad YAML says where.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/config_node.h"
#include "core/errors.h"
#include "core/rng.h"
#include "hwmodels/calibration.h"
#include "hwmodels/device_model.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/layer_residuals.h"
#include "hwmodels/roofline.h"
#include "layer_builders.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::Conv;
using test::Elementwise;
using test::Linear;
using test::Net;
using test::ThrowsWith;

constexpr double kExact = 1e-12;

const char* kRooflineYaml =
    "name: fixture-roofline\n"
    "description: residuals fixture\n"
    "kind: roofline\n"
    "compute:\n"
    "  peak_tops: {fp32: 2, fp16: 8}\n"
    "memory:\n"
    "  bandwidth_gbs: 50\n"
    "overhead_us: 4\n";

// conv+bn+relu, a depthwise conv+bn and a 1x1 conv+bn, then an add of the block: the units
// measured layer rows time.
std::vector<std::vector<Layer>> Units(int width, int size) {
  Layer add = Elementwise(LayerOp::kAdd, width, size);
  add.residual_from = 3;
  return {{Conv(3, width, 3, size), Elementwise(LayerOp::kBatchNorm, width, size),
           Elementwise(LayerOp::kRelu, width, size)},
          {Conv(width, width, 3, size, 1, width), Elementwise(LayerOp::kBatchNorm, width, size)},
          {Conv(width, width, 1, size), Elementwise(LayerOp::kBatchNorm, width, size)},
          {add}};
}

UnitSignature Unit(const std::string& ops, UnitShape shape) { return {ops, shape}; }

TEST(LayerResiduals, ResidualsThatAgreeGiveExactlyTheirFactorAndUnknownOpsGiveOne) {
  LayerResiduals residuals(3);
  for (int cin : {8, 16, 32, 64, 128}) {
    residuals.Add(Unit("conv+bn/fp32", {cin, 32, 28, 3, 1, 1}), 0.25);
  }
  EXPECT_EQ(residuals.size(), 5u);
  for (const UnitShape& query : {UnitShape{8, 32, 28, 3, 1, 1}, UnitShape{1000, 7, 3, 7, 2, 64}}) {
    EXPECT_NEAR(residuals.Factor(Unit("conv+bn/fp32", query)), std::exp(0.25), kExact);
  }
  EXPECT_EQ(residuals.Factor(Unit("conv+bn/fp16", {8, 32, 28, 3, 1, 1})), 1.0);
  EXPECT_EQ(residuals.Factor(Unit("depthwise+bn/fp32", {8, 8, 28, 3, 1, 1})), 1.0);
}

TEST(LayerResiduals, TheNearestResidualWeighsMostAndAnotherBatchSizeIsFarAway) {
  LayerResiduals one(1);
  one.Add(Unit("conv/fp32", {64, 64, 28, 3, 1, 1}), 0.5);
  one.Add(Unit("conv/fp32", {128, 64, 28, 3, 1, 1}), -0.5);  // one width step away
  one.Add(Unit("conv/fp32", {64, 64, 28, 3, 1, 16}), 2.0);   // the same shape at batch 16
  EXPECT_NEAR(one.Factor(Unit("conv/fp32", {64, 64, 28, 3, 1, 1})), std::exp(0.5), kExact);
  EXPECT_NEAR(one.Factor(Unit("conv/fp32", {128, 64, 28, 3, 1, 2})), std::exp(-0.5), kExact);
  EXPECT_NEAR(one.Factor(Unit("conv/fp32", {64, 64, 28, 3, 1, 8})), std::exp(2.0), kExact);

  // With all three, the factor lies between the extremes and leans to the exact match.
  LayerResiduals three(3);
  three.Add(Unit("conv/fp32", {64, 64, 28, 3, 1, 1}), 0.5);
  three.Add(Unit("conv/fp32", {128, 64, 28, 3, 1, 1}), -0.5);
  three.Add(Unit("conv/fp32", {64, 64, 28, 3, 1, 16}), 2.0);
  const double log_factor = std::log(three.Factor(Unit("conv/fp32", {64, 64, 28, 3, 1, 1})));
  EXPECT_GT(log_factor, 0.4);
  EXPECT_LT(log_factor, 0.5);
}

TEST(LayerResiduals, TheYamlFormRoundTripsEveryFactor) {
  LayerResiduals residuals(4);
  Rng rng(7);
  auto shape = [&] {
    return UnitShape{1 + static_cast<int>(rng.Below(512)), 1 + static_cast<int>(rng.Below(512)),
                     1 + static_cast<int>(rng.Below(224)), 1 + 2 * static_cast<int>(rng.Below(4)),
                     1 + static_cast<int>(rng.Below(2)), 1 << rng.Below(6)};
  };
  for (int i = 0; i < 60; ++i) {
    // Four decimals, as the YAML writes them.
    const double log_ratio = (static_cast<int>(rng.Below(20001)) - 10000) * 1e-4;
    residuals.Add(Unit(i % 2 ? "conv+bn/fp16" : "add/fp32", shape()), log_ratio);
  }
  const std::string text = "kind: calibrated\n" + residuals.Yaml();
  const LayerResiduals parsed =
      LayerResiduals::Parse(ConfigNode::LoadString(text, "fixture.yaml").Child("residuals"));
  EXPECT_EQ(parsed.size(), residuals.size());
  EXPECT_EQ(parsed.neighbours(), 4);
  for (int i = 0; i < 200; ++i) {
    const UnitSignature query = Unit(i % 2 ? "conv+bn/fp16" : "add/fp32", shape());
    EXPECT_DOUBLE_EQ(parsed.Factor(query), residuals.Factor(query)) << i;
  }
}

TEST(LayerResiduals, BadYamlSaysWhereAndWhat) {
  auto parse = [](const std::string& body) {
    return [body] {
      LayerResiduals::Parse(ConfigNode::LoadString("residuals:\n" + body, "dev.yaml")
                                .Child("residuals"));
    };
  };
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      parse("  neighbours: 3\n  units:\n    conv/fp32:\n      - [1, 2, 3, 4, 5, 0.1]\n"),
      {"dev.yaml:5", "[cin, cout, hw, k, stride, batch, log(measured/predicted)]"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      parse("  neighbours: 3\n  units:\n    conv:\n      - [1, 2, 3, 4, 5, 6, 0.1]\n"),
      {"dev.yaml:5", "residuals.units.conv", "/precision"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(parse("  neighbours: 0\n  units: {}\n"),
                                      {"dev.yaml:2", "neighbours"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      parse("  neighbours: 3\n  units:\n    conv/fp32:\n      - [0, 2, 3, 4, 5, 6, 0.1]\n"),
      {"dev.yaml:5"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(parse("  neighbours: 3\n  unit: {}\n"),
                                      {"unknown key 'unit'", "valid keys: neighbours, units"}));
  // Only a calibrated device has measured residuals.
  const std::string roofline =
      std::string(kRooflineYaml) + "residuals:\n  neighbours: 3\n  units: {}\n";
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { MakeDeviceModel(ConfigNode::LoadString(roofline, "dev.yaml"), "dev.yaml"); },
      {"dev.yaml:10", "only a calibrated device"}));
}

// Measured layers 1.3x the roofline: every network of such units is predicted at exactly 1.3x,
// step by step; network rows among the samples leave no residual.
TEST(LayerResiduals, FittedOnLayersTheRooflineUnderestimatesTheyScaleNetworksOfThoseLayers) {
  const DeviceSpec spec = ParseDeviceSpec(ConfigNode::LoadString(kRooflineYaml, "fixture.yaml"));
  constexpr double kSlower = 1.3;
  std::vector<Measurement> rows;
  for (const int width : {16, 32, 64}) {
    for (const int size : {8, 28}) {
      for (const auto& layers : Units(width, size)) {
        for (const int batch : {1, 4}) {
          Measurement row;
          row.kind = layers[0].op == LayerOp::kAdd ? "add" : "conv";
          row.shape = layers[0];
          row.batch_norm = layers.size() > 1;
          row.relu = layers.size() > 2;
          row.batch = batch;
          CostOptions options;
          options.batch = batch;
          const DeviceCost raw =
              RooflineCost(spec, "fixture", MeasurementNetwork(row), options);
          ASSERT_TRUE(raw.ok) << raw.error;
          row.median_us = row.min_us = raw.latency_ms * 1e3 * kSlower;
          rows.push_back(row);
        }
      }
    }
  }
  Measurement network_row = rows[0];
  network_row.kind = "net";
  network_row.median_us *= 5;
  rows.push_back(network_row);
  const LayerResiduals residuals = FitResiduals(spec, rows, {}, TimingStatistic::kMedian, 3);
  EXPECT_EQ(residuals.size(), rows.size() - 1);

  // A network of widths and sizes between those measured, with a classifier no row measured.
  std::vector<Layer> layers;
  for (const auto& unit : Units(48, 14)) layers.insert(layers.end(), unit.begin(), unit.end());
  layers.push_back(Linear(48, 10));
  CostOptions options;
  options.batch = 2;
  options.breakdown = true;
  const DeviceCost raw = RooflineCost(spec, "fixture", Net(layers), options);
  const DeviceCost corrected = RooflineCost(spec, "fixture", Net(layers), options, &residuals);
  ASSERT_TRUE(raw.ok && corrected.ok) << raw.error << corrected.error;
  ASSERT_EQ(raw.layers.size(), corrected.layers.size());
  double linear_ms = 0;
  for (size_t i = 0; i < raw.layers.size(); ++i) {
    const bool measured = raw.layers[i].op != "linear";
    if (!measured) linear_ms = raw.layers[i].latency_ms;
    const double expected = raw.layers[i].latency_ms * (measured ? kSlower : 1.0);
    EXPECT_NEAR(corrected.layers[i].latency_ms, expected, 1e-9 * raw.layers[i].latency_ms)
        << raw.layers[i].op;
  }
  EXPECT_GT(linear_ms, 0.0);
  EXPECT_NEAR(corrected.latency_ms, (raw.latency_ms - linear_ms) * kSlower + linear_ms,
              1e-9 * raw.latency_ms);
}

// Layer rows at the roofline's time, of a network measured at 1.2x their sum: when they time
// every unit of it at its batch, dtype and mode, the residuals learn 1.2x; else the rows as
// timed.
TEST(LayerResiduals, ANetworkRowPutsTheLayerRowsThatTimeAllOfItInContext) {
  const DeviceSpec spec = ParseDeviceSpec(ConfigNode::LoadString(kRooflineYaml, "fixture.yaml"));
  constexpr double kInNetwork = 1.2;
  std::vector<Layer> layers;
  std::vector<Measurement> rows;
  double sum_us = 0;
  for (const auto& unit : Units(16, 8)) {
    layers.insert(layers.end(), unit.begin(), unit.end());
    Measurement row;
    row.net = "n";
    row.kind = unit[0].op == LayerOp::kAdd ? "add" : "conv";
    row.shape = unit[0];
    row.batch_norm = unit.size() > 1;
    row.relu = unit.size() > 2;
    const DeviceCost alone = RooflineCost(spec, "fixture", MeasurementNetwork(row), CostOptions{});
    ASSERT_TRUE(alone.ok) << alone.error;
    row.median_us = row.min_us = alone.latency_ms * 1e3;
    sum_us += row.median_us;
    rows.push_back(row);
  }
  const std::map<std::string, NetworkSpec> nets = {{"n", Net(layers, "n")}};
  Measurement network = rows[0];
  network.kind = "net";
  network.median_us = network.min_us = kInNetwork * sum_us;
  const DeviceCost raw = RooflineCost(spec, "fixture", nets.at("n"), CostOptions{});
  ASSERT_TRUE(raw.ok) << raw.error;
  auto predicted_ms = [&](std::vector<Measurement> fitted_rows) {
    const LayerResiduals residuals =
        FitResiduals(spec, fitted_rows, nets, TimingStatistic::kMedian, 3);
    return RooflineCost(spec, "fixture", nets.at("n"), CostOptions{}, &residuals).latency_ms;
  };
  std::vector<Measurement> with_network = rows;
  with_network.push_back(network);
  EXPECT_NEAR(predicted_ms(with_network), kInNetwork * raw.latency_ms, 1e-9 * raw.latency_ms);
  // Not a unit short of the network, nor against the network run in another mode.
  std::vector<Measurement> partial(rows.begin(), rows.end() - 1);
  partial.push_back(network);
  EXPECT_NEAR(predicted_ms(partial), raw.latency_ms, 1e-9 * raw.latency_ms);
  with_network.back().mode = "eager";
  EXPECT_NEAR(predicted_ms(with_network), raw.latency_ms, 1e-9 * raw.latency_ms);
}

// Conversions measured at 2x the roofline's: a network's conversions of like tensors cost
// exactly 2x, while its layers, which no row measured, keep the roofline's time.
TEST(LayerResiduals, ConvertRowsCorrectTheConversionsOfANetworkAndNothingElse) {
  const DeviceSpec spec = ParseDeviceSpec(ConfigNode::LoadString(kRooflineYaml, "fixture.yaml"));
  constexpr double kSlower = 2.0;
  std::vector<Measurement> rows;
  for (const int channels : {8, 16, 32}) {
    for (const int size : {4, 8, 16}) {
      Measurement row;
      row.kind = "convert";
      row.from_dtype = "fp32";
      row.dtype = "fp16";
      row.shape.cin = row.shape.cout = channels;
      row.shape.h_in = size;
      const auto unit = RooflineConversion(spec, "fp32", "fp16", channels, size, CostOptions{});
      ASSERT_TRUE(unit.has_value());
      EXPECT_EQ(unit->signature.ops, "convert/fp32->fp16");
      row.median_us = row.min_us = unit->latency_us * kSlower;
      rows.push_back(row);
    }
  }
  const LayerResiduals residuals = FitResiduals(spec, rows, {}, TimingStatistic::kMin, 3);
  EXPECT_EQ(residuals.size(), rows.size());

  Layer conv = Conv(16, 16, 1, 8);
  conv.policy.float_format = FloatFormat::kFp16;
  CostOptions options;
  options.breakdown = true;
  const DeviceCost raw = RooflineCost(spec, "fixture", Net({conv}), options);
  const DeviceCost corrected = RooflineCost(spec, "fixture", Net({conv}), options, &residuals);
  ASSERT_TRUE(raw.ok && corrected.ok) << raw.error << corrected.error;
  ASSERT_EQ(raw.layers.size(), 2u);
  EXPECT_EQ(raw.layers[0].op, "convert");
  EXPECT_NEAR(corrected.layers[0].latency_ms, kSlower * raw.layers[0].latency_ms,
              1e-12 * raw.layers[0].latency_ms);
  EXPECT_EQ(corrected.layers[1].latency_ms, raw.layers[1].latency_ms);
  EXPECT_FALSE(RooflineConversion(spec, "fp32", "fp12", 8, 8, CostOptions{}).has_value());
}

}  // namespace
}  // namespace hwnas
