// Bad analytic device YAML (kinds roofline and calibrated): each mistake is one ConfigError that
// names the file, the line of the mistake, the key and, where there are any, the valid choices.
// Every case breaks one thing in a device that otherwise loads.
#include <gtest/gtest.h>

#include "core/errors.h"
#include "hwmodels/device_model.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;
using test::ThrowsWith;

const char* const kValidDevice =
    "# a roofline that loads; each test breaks one key of it\n"
    "name: fixture-device\n"
    "description: a valid roofline\n"
    "kind: roofline\n"
    "compute:\n"
    "  peak_tops: {fp32: 1, int8: 4}\n"
    "  unsupported_bits: next_supported\n"
    "memory:\n"
    "  bandwidth_gbs: 10\n"
    "  on_chip_mb: 1\n"
    "overhead_us: 5\n"
    "sparse:\n"
    "  n_of_m_speedup: {\"2:4\": 2}\n"
    "energy:\n"
    "  pj_per_mac: {fp32: 2, int8: 0.5}\n"
    "  pj_per_byte: 50\n"
    "fuses: [conv+bn+relu, add+relu]\n"
    "efficiency:\n"
    "  default: {compute: 0.5, bandwidth: 0.8}\n"
    "  conv/int8: {compute: 0.7}\n";

// The 1-based line of the first line of `text` holding `needle`.
int LineOf(const std::string& text, const std::string& needle) {
  const auto lines = test::SplitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(needle) != std::string::npos) return static_cast<int>(i) + 1;
  }
  ADD_FAILURE() << "no line holds '" << needle << "'";
  return 0;
}

class AnalyticDeviceYamlTest : public ::testing::Test {
 protected:
  // Writes the valid device with `from` replaced by `to`; returns its path.
  std::string Broken(const std::string& from, const std::string& to) {
    text_ = kValidDevice;
    const size_t at = text_.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text_.replace(at, from.size(), to);
    return dir_.Write("fixture_device.yaml", text_);
  }
  // Loading the valid device with `from` replaced by `to` throws a ConfigError that holds every
  // one of `parts` and starts with "<file>:<line of needle>: ".
  ::testing::AssertionResult Refused(const std::string& from, const std::string& to,
                                     const std::string& needle,
                                     std::initializer_list<std::string_view> parts) {
    const std::string path = Broken(from, to);
    const std::string at = path + ":" + std::to_string(LineOf(text_, needle)) + ": ";
    auto result = ThrowsWith<ConfigError>([&] { LoadDeviceModel(path); }, parts);
    if (!result) return result;
    try {
      LoadDeviceModel(path);
    } catch (const ConfigError& e) {
      if (std::string(e.what()).rfind(at, 0) != 0) {
        return ::testing::AssertionFailure() << "'" << e.what() << "' does not start with '" << at
                                             << "'";
      }
    }
    return result;
  }

  TempDir dir_;
  std::string text_;
};

TEST_F(AnalyticDeviceYamlTest, TheFixtureLoads) {
  const auto device = LoadDeviceModel(dir_.Write("fixture_device.yaml", kValidDevice));
  EXPECT_EQ(device->name(), "fixture-device");
  EXPECT_EQ(device->info().kind, "roofline");
  EXPECT_TRUE(device->info().provides_energy);
}

TEST_F(AnalyticDeviceYamlTest, UnknownTopLevelKey) {
  EXPECT_TRUE(Refused("overhead_us: 5\n", "overhead_us: 5\nbandwith_gbs: 10\n", "bandwith_gbs",
                      {"unknown key 'bandwith_gbs'",
                       "valid keys: name, description, kind, sources, compute, memory"}));
}

TEST_F(AnalyticDeviceYamlTest, UnknownKeyInASection) {
  EXPECT_TRUE(Refused("  on_chip_mb: 1\n", "  on_chip_mb: 1\n  latency_ns: 80\n", "latency_ns",
                      {"memory: unknown key 'latency_ns'", "valid keys: bandwidth_gbs, on_chip_mb"}));
}

TEST_F(AnalyticDeviceYamlTest, UnknownPrecisionKey) {
  EXPECT_TRUE(Refused("{fp32: 1, int8: 4}", "{fp32: 1, fp12: 4}", "fp12",
                      {"compute.peak_tops.fp12: unknown precision 'fp12'",
                       "valid: fp32, tf32, fp16, bf16, fp8, int<bits>, w<bits>a<bits>"}));
  // int17 is no integer width.
  EXPECT_TRUE(Refused("{fp32: 1, int8: 4}", "{fp32: 1, int17: 4}", "int17",
                      {"compute.peak_tops.int17: unknown precision 'int17'"}));
  EXPECT_TRUE(Refused("{fp32: 1, int8: 4}", "{}", "peak_tops",
                      {"compute.peak_tops: give at least one precision"}));
}

TEST_F(AnalyticDeviceYamlTest, UnknownEfficiencyOpKind) {
  EXPECT_TRUE(Refused("  conv/int8: {compute: 0.7}", "  conv2d/int8: {compute: 0.7}", "conv2d",
                      {"efficiency.conv2d/int8: unknown op kind 'conv2d'",
                       "valid: default, conv, pointwise, depthwise, depthwise_strided, linear, pool, gap, add, "
                       "bn, relu"}));
  EXPECT_TRUE(Refused("  conv/int8: {compute: 0.7}", "  conv/int9x: {compute: 0.7}", "conv/int9x",
                      {"efficiency.conv/int9x: unknown precision in 'conv/int9x'"}));
  EXPECT_TRUE(Refused("  conv/int8: {compute: 0.7}", "  conv/int8: {compute: 0.7, peak: 1}",
                      "peak: 1",
                      {"efficiency.conv/int8: unknown key 'peak'",
                       "valid keys: compute, bandwidth, overhead_us, half_mmacs, half_kbytes"}));
  EXPECT_TRUE(Refused("  conv/int8: {compute: 0.7}", "  conv/int8: {compute: 0}", "conv/int8",
                      {"efficiency.conv/int8.compute: value 0 out of range"}));
}

TEST_F(AnalyticDeviceYamlTest, Batch1EfficiencyNeedsBatch1KernelsAndAPrecision) {
  EXPECT_TRUE(Refused("  conv/int8: {compute: 0.7}", "  conv/int8@b1: {compute: 0.7}",
                      "conv/int8@b1",
                      {"efficiency.conv/int8@b1: 'conv/int8@b1' is a batch-1 efficiency; it needs "
                       "batch1_kernels: true"}));
  EXPECT_TRUE(Refused("  conv/int8: {compute: 0.7}", "  conv@b1: {compute: 0.7}", "conv@b1",
                      {"efficiency.conv@b1: 'conv@b1': @b1 follows a kind/precision key"}));
}

TEST_F(AnalyticDeviceYamlTest, FusionWithAnUnknownOp) {
  EXPECT_TRUE(Refused("[conv+bn+relu, add+relu]", "[conv+bn+relu, add+gelu]", "gelu",
                      {"fuses[1]: unknown op 'gelu' in fusion 'add+gelu'",
                       "valid ops: conv, linear, bn, relu, add, pool"}));
  EXPECT_TRUE(Refused("[conv+bn+relu, add+relu]", "[conv+bn+relu, conv]", "fuses",
                      {"fuses[1]: a fusion joins two or more ops with '+'"}));
}

TEST_F(AnalyticDeviceYamlTest, UnsupportedBitsOutsideItsChoices) {
  EXPECT_TRUE(Refused("unsupported_bits: next_supported", "unsupported_bits: round_up", "round_up",
                      {"compute.unsupported_bits: unknown value 'round_up'",
                       "valid: next_supported, dequantize"}));
}

TEST_F(AnalyticDeviceYamlTest, NegativeOrMissingBandwidth) {
  EXPECT_TRUE(Refused("bandwidth_gbs: 10", "bandwidth_gbs: -10", "bandwidth_gbs",
                      {"memory.bandwidth_gbs: value -10 out of range"}));
  EXPECT_TRUE(Refused("  bandwidth_gbs: 10\n", "", "on_chip_mb",
                      {"memory: missing key 'bandwidth_gbs'"}));
  EXPECT_TRUE(Refused("overhead_us: 5", "overhead_us: -1", "overhead_us",
                      {"overhead_us: value -1 out of range"}));
}

TEST_F(AnalyticDeviceYamlTest, EnergyMissingAPrecisionComputeLists) {
  EXPECT_TRUE(Refused("{fp32: 2, int8: 0.5}", "{fp32: 2}", "pj_per_mac",
                      {"energy.pj_per_mac: no energy for precision 'int8', which compute lists"}));
  EXPECT_TRUE(Refused("  pj_per_byte: 50\n", "", "pj_per_mac",
                      {"energy: missing key 'pj_per_byte'"}));
}

TEST_F(AnalyticDeviceYamlTest, SparsePatternOutsideItsChoices) {
  EXPECT_TRUE(Refused("{\"2:4\": 2}", "{\"4:8\": 2}", "4:8",
                      {"sparse.n_of_m_speedup.4:8: unknown pattern '4:8'", "valid: 2:4, 1:4"}));
  EXPECT_TRUE(Refused("{\"2:4\": 2}", "{\"2:4\": 0.5}", "2:4",
                      {"sparse.n_of_m_speedup.2:4: value 0.5 out of range"}));
}

TEST_F(AnalyticDeviceYamlTest, CalibratedDeviceWithoutItsCalibrationRecord) {
  EXPECT_TRUE(Refused("kind: roofline", "kind: calibrated", "name:",
                      {"a calibrated device records what it was fitted on under 'calibration:'"}));
  // With the record it loads, as kind calibrated.
  std::string text = std::string(kValidDevice) + "calibration:\n  base: fixture\n";
  text.replace(text.find("kind: roofline"), 14, "kind: calibrated");
  const auto device = LoadDeviceModel(dir_.Write("fixture_device.yaml", text));
  EXPECT_EQ(device->info().kind, "calibrated");
}

TEST_F(AnalyticDeviceYamlTest, UnknownKindAndBadName) {
  EXPECT_TRUE(Refused("kind: roofline", "kind: rooflne", "kind:",
                      {"kind: unknown value 'rooflne'", "valid: table, roofline, calibrated, lut"}));
  EXPECT_TRUE(Refused("name: fixture-device", "name: Fixture Device", "name:",
                      {"name: device names use a-z, 0-9, '_' and '-'"}));
}

TEST_F(AnalyticDeviceYamlTest, MalformedYaml) {
  EXPECT_TRUE(Refused("  peak_tops: {fp32: 1, int8: 4}", "  peak_tops: {fp32: 1, int8: 4",
                      "unsupported_bits", {"malformed YAML"}));
  // A duplicated key is no silent override.
  EXPECT_TRUE(Refused("overhead_us: 5\n", "overhead_us: 5\noverhead_us: 6\n", "overhead_us: 6",
                      {"duplicate key 'overhead_us'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadDeviceModel(dir_.Write("fixture_device.yaml", "- just\n- a list\n")); },
      {"fixture_device.yaml:1: ", "the file must be a YAML mapping"}));
}

}  // namespace
}  // namespace hwnas
