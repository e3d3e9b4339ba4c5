// Calibration recovers a known roofline: measurements made synthetically by a fixture device with
// known efficiencies per op kind are fitted from a base that starts elsewhere, and the fit must
// reproduce them and the parameters the data determine. Then the CLI: `hwnas hw calibrate`
// writes a calibrated device recording what it was fitted on, and `hwnas hw validate` leaves
// those measurements out.
//
// What the data can determine. Per step the model is
//   latency = max(MACs / (peak x compute) x (1 + half_mmacs / MMACs),
//                 bytes / (bandwidth x share) x (1 + half_kbytes / kbytes)) + overhead
// so the ramps add a constant per launch, (half_mmacs x 1e6) / (peak x compute) on the compute
// side and (half_kbytes x 1e3) / (bandwidth x share) on the memory side, which overhead adds
// too. Only their sums (the per-launch intercepts) are identifiable, and the compute share only
// from compute-bound samples, the bandwidth share only from memory-bound ones.
//
// Calibrate() regularises every parameter towards its starting point (in log space) and starts
// each ramp at the median size of its kind's steps, so the truth here has its ramps there: a
// truth without ramps (half sizes 0, a plain datasheet roofline) is not recovered (rms relative
// error about 5%, worst sample 34%, with these samples): the anchor holds the ramps far from 0
// and the max() leaves the fit in local minima. Likewise the true shares sit on the same side of
// every sample's roofline as the starting shares (0.5), where the fit has a gradient to follow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/config_node.h"
#include "core/errors.h"
#include "hwmodels/calibration.h"
#include "hwmodels/calibration_record.h"
#include "hwmodels/device_model.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/measured_network.h"
#include "hwmodels/measurement.h"
#include "hwmodels/net_file.h"
#include "hwmodels/roofline.h"
#include "layer_builders.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::Conv;
using test::Elementwise;
using test::Linear;
using test::Net;
using test::TempDir;
using test::ThrowsWith;

// The fitted model reproduces its synthetic measurements this closely (rms relative error; what
// is left is the pull of Calibrate()'s anchor towards the starting overheads).
constexpr double kFitRms = 1e-2;
// Identifiable parameters come back within this share of the truth.
constexpr double kParameterTolerance = 0.03;
// Networks the fit never saw, made of the same kinds in the same regimes.
constexpr double kHeldOutTolerance = 0.01;

constexpr double kPeakTops = 2;       // fp32
constexpr double kBandwidthGbs = 50;

struct TrueEfficiency {
  double compute;
  double bandwidth;
  double overhead_us;
};

// The truth, per op kind (fp32).
const std::map<std::string, TrueEfficiency>& Truth() {
  static const std::map<std::string, TrueEfficiency> truth = {
      {"conv", {0.6, 0.7, 6.0}},      {"pointwise", {0.4, 0.8, 3.0}},
      {"depthwise", {0.3, 0.5, 2.0}}, {"bn", {0.1, 0.6, 1.5}},
      {"relu", {0.1, 0.9, 1.0}},      {"add", {0.1, 0.75, 1.2}},
      {"gap", {0.1, 0.4, 2.5}},       {"linear", {0.5, 0.85, 3.5}},
  };
  return truth;
}

std::string DeviceYaml(const std::string& name, const std::string& efficiency) {
  return "name: " + name +
         "\n"
         "description: synthetic calibration fixture\n"
         "kind: roofline\n"
         "compute:\n"
         "  peak_tops: {fp32: 2}\n"
         "memory:\n"
         "  bandwidth_gbs: 50\n"
         "overhead_us: 4\n"
         "efficiency:\n" +
         efficiency;
}

// Half sizes (MMACs, kbytes) per op kind.
using Ramps = std::map<std::string, std::pair<double, double>>;

std::string TruthYaml(const Ramps& ramps = {}) {
  std::string efficiency;
  for (const auto& [kind, e] : Truth()) {
    efficiency += "  " + kind + ": {compute: " + std::to_string(e.compute) +
                  ", bandwidth: " + std::to_string(e.bandwidth) +
                  ", overhead_us: " + std::to_string(e.overhead_us);
    if (ramps.count(kind)) {
      std::ostringstream sizes;
      sizes.precision(17);
      sizes << ", half_mmacs: " << ramps.at(kind).first
            << ", half_kbytes: " << ramps.at(kind).second;
      efficiency += sizes.str();
    }
    efficiency += "}\n";
  }
  return DeviceYaml("fixture-truth", efficiency);
}

// The base starts from other efficiencies and one overhead for everything.
std::string BaseYaml() {
  return DeviceYaml("fixture-base", "  default: {compute: 0.3, bandwidth: 0.3}\n");
}

struct Sample {
  NetworkSpec spec;
  int batch = 1;
};

// One-layer networks of every kind in the regimes the truth puts them in (worked out with
// peak 2 TOPS and 50 GB/s; "compute" means the compute time is the larger by 1.5x or more).
std::vector<Sample> LayerSamples() {
  std::vector<Sample> samples;
  auto add = [&](const std::string& key, Layer layer, int batch = 1) {
    samples.push_back({Net({layer}, key), batch});
  };
  // conv 3x3: compute-bound (6e11 MAC/s vs 35e9 B/s, above 17 MACs a byte) ...
  for (const auto& [cin, cout, h] : std::vector<std::tuple<int, int, int>>{
           {32, 32, 32}, {64, 64, 16}, {64, 128, 28}, {128, 128, 14}, {32, 64, 56}, {96, 96, 20}}) {
    add("conv", Conv(cin, cout, 3, h));
  }
  // ... and memory-bound: few channels over large images.
  for (const auto& [cin, cout, h] : std::vector<std::tuple<int, int, int>>{
           {4, 4, 128}, {3, 8, 224}, {8, 8, 112}, {4, 8, 160}, {2, 2, 16}}) {
    add("conv", Conv(cin, cout, 3, h));
  }
  // pointwise: compute-bound wide layers, memory-bound narrow ones.
  for (const auto& [cin, cout, h] : std::vector<std::tuple<int, int, int>>{
           {512, 512, 14}, {256, 512, 28}, {768, 768, 14}, {16, 16, 112}, {32, 64, 56},
           {64, 32, 64}, {8, 8, 8}}) {
    add("pointwise", Conv(cin, cout, 1, h));
  }
  // depthwise: memory-bound, 3x3 and 7x7.
  for (const auto& [c, k, h] : std::vector<std::tuple<int, int, int>>{
           {32, 3, 56}, {64, 3, 28}, {128, 3, 14}, {16, 3, 112}, {8, 3, 8}, {16, 7, 56},
           {32, 7, 28}, {24, 7, 40}}) {
    add("depthwise", Conv(c, c, k, h, 1, c));
  }
  // bn, relu, add, gap: memory-bound at every size; the smallest are mostly launch overhead.
  for (const auto op : {LayerOp::kBatchNorm, LayerOp::kRelu, LayerOp::kAdd,
                        LayerOp::kGlobalAvgPool}) {
    for (const auto& [c, h] : std::vector<std::pair<int, int>>{
             {16, 112}, {32, 56}, {64, 28}, {128, 14}, {64, 56}, {256, 7}, {8, 4}, {4, 2}}) {
      add(std::string(LayerOpName(op)), Elementwise(op, c, h));
    }
  }
  // linear: weight-bound at small batch, compute-bound at large batch.
  for (const auto& [cin, cout, batch] : std::vector<std::tuple<int, int, int>>{
           {1024, 1000, 1}, {512, 512, 1}, {2048, 1000, 4}, {128, 10, 1},
           {1024, 1024, 256}, {512, 512, 512}, {2048, 1000, 128}}) {
    add("linear", Linear(cin, cout), batch);
  }
  return samples;
}

// Networks of the same kinds and regimes: a conv stem, a residual depthwise-separable block,
// a head, pooling and a classifier.
NetworkSpec SmallNet(const std::string& key, int width, int size) {
  std::vector<Layer> l;
  l.push_back(Conv(3, width, 3, size));
  l.push_back(Elementwise(LayerOp::kBatchNorm, width, size));
  l.push_back(Elementwise(LayerOp::kRelu, width, size));
  l.push_back(Conv(width, width, 3, size, 1, width));
  l.push_back(Elementwise(LayerOp::kBatchNorm, width, size));
  l.push_back(Conv(width, width, 1, size));
  Layer add = Elementwise(LayerOp::kAdd, width, size);
  add.residual_from = 3;
  l.push_back(add);
  l.push_back(Conv(width, 4 * width, 1, size));
  l.push_back(Elementwise(LayerOp::kGlobalAvgPool, 4 * width, size));
  l.push_back(Linear(4 * width, 10));
  return Net(l, key);
}

std::vector<MeasuredNetwork> Measure(const DeviceModel& truth, const std::vector<Sample>& samples) {
  std::vector<MeasuredNetwork> measured;
  for (size_t i = 0; i < samples.size(); ++i) {
    MeasuredNetwork m;
    m.id = "synthetic:" + std::to_string(i) + " (" + samples[i].spec.key + ")";
    m.kind = samples[i].spec.key;
    m.spec = samples[i].spec;
    m.options.batch = samples[i].batch;
    const DeviceCost cost = truth.Cost(m.spec, m.options);
    EXPECT_TRUE(cost.ok) << cost.error;
    m.measured_ms = cost.latency_ms;
    measured.push_back(m);
  }
  return measured;
}

// Where Calibrate() starts each kind's ramps: the (upper) median size of its steps over the
// samples. Sizes do not depend on efficiencies, so any device with the same peak tells them.
Ramps PriorRamps(const DeviceModel& device, const std::vector<Sample>& samples) {
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> sizes;
  for (const auto& sample : samples) {
    CostOptions options;
    options.batch = sample.batch;
    options.breakdown = true;
    for (const auto& step : device.Cost(sample.spec, options).layers) {
      const std::string kind = step.efficiency.substr(0, step.efficiency.find('/'));
      sizes[kind].first.push_back(step.macs * 1e-6);
      sizes[kind].second.push_back(step.bytes * 1e-3);
    }
  }
  auto median = [](std::vector<double> values) {
    std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
    return std::max(values[values.size() / 2], 1e-6);
  };
  Ramps ramps;
  for (const auto& [kind, series] : sizes) {
    ramps[kind] = {median(series.first), median(series.second)};
  }
  return ramps;
}

class CalibrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_path_ = dir_.Write("fixture_base.yaml", BaseYaml());
    base_ = ParseDeviceSpec(ConfigNode::LoadFile(base_path_));
    truth_ = LoadDeviceModel(dir_.Write("fixture_truth.yaml", TruthYaml()));
  }
  // The truth with its ramps where Calibrate() starts them for these samples.
  void UseRampsFor(const std::vector<Sample>& samples, const std::string& extra = "") {
    ramps_ = PriorRamps(*truth_, samples);
    truth_ = LoadDeviceModel(dir_.Write("fixture_truth.yaml", TruthYaml(ramps_) + extra));
  }

  TempDir dir_;
  std::string base_path_;
  std::unique_ptr<DeviceModel> truth_;
  DeviceSpec base_;
  Ramps ramps_;
};

// Which side of the roofline a one-layer sample is on, by the truth's own breakdown.
std::string Bound(const DeviceModel& device, const MeasuredNetwork& m) {
  CostOptions options = m.options;
  options.breakdown = true;
  return device.Cost(m.spec, options).layers.at(0).bound;
}

TEST_F(CalibrationTest, RecoversAKnownRooflineFromItsMeasurements) {
  std::vector<Sample> samples = LayerSamples();
  for (const auto& [width, size] : std::vector<std::pair<int, int>>{{16, 32}, {32, 16}, {24, 28}}) {
    samples.push_back({SmallNet("net", width, size), 1});
  }
  UseRampsFor(samples);
  const std::vector<MeasuredNetwork> measured = Measure(*truth_, samples);
  // Both regimes are there for the kinds whose two shares the test checks.
  // (The smallest samples are "overhead"-bound: mostly launch cost.)
  std::map<std::string, std::set<std::string>> regimes;
  std::map<std::string, double> shortest_compute_bound_us;
  for (const auto& m : measured) {
    const std::string bound = m.kind == "net" ? "" : Bound(*truth_, m);
    if (bound == "compute" || bound == "memory") regimes[m.kind].insert(bound);
    if (bound == "compute") {
      double& shortest = shortest_compute_bound_us[m.kind];
      shortest = shortest == 0 ? m.measured_ms * 1e3 : std::min(shortest, m.measured_ms * 1e3);
    }
  }
  for (const char* kind : {"conv", "pointwise", "linear"}) {
    EXPECT_EQ(regimes[kind], (std::set<std::string>{"compute", "memory"})) << kind;
  }
  for (const char* kind : {"depthwise", "bn", "relu", "add", "gap"}) {
    EXPECT_EQ(regimes[kind], std::set<std::string>{"memory"}) << kind;
  }

  const CalibrationResult result = Calibrate(base_, measured, 2);
  EXPECT_LT(result.rms_relative_error, kFitRms);
  EXPECT_GT(result.iterations, 0);
  const std::set<std::string> keys(result.fitted_keys.begin(), result.fitted_keys.end());
  std::set<std::string> expected_keys;
  for (const auto& [kind, e] : Truth()) expected_keys.insert(kind + "/fp32");
  EXPECT_EQ(keys, expected_keys);

  // The fitted device, costed independently, reproduces every measurement.
  double worst = 0;
  for (const auto& m : measured) {
    const DeviceCost cost = RooflineCost(result.fitted, "fitted", m.spec, m.options);
    ASSERT_TRUE(cost.ok) << cost.error;
    worst = std::max(worst, std::abs(cost.latency_ms / m.measured_ms - 1));
  }
  EXPECT_LT(worst, 10 * kFitRms);

  const DeviceSpec& fitted = result.fitted;
  const double peak_macs_per_s = kPeakTops * 0.5e12;
  const double bytes_per_s = kBandwidthGbs * 1e9;
  // The per-launch intercepts: overhead plus what the ramp adds to every launch.
  auto memory_intercept_us = [&](double overhead_us, double half_kbytes, double share) {
    return overhead_us + half_kbytes * 1e3 / (bytes_per_s * share) * 1e6;
  };
  auto compute_intercept_us = [&](double overhead_us, double half_mmacs, double share) {
    return overhead_us + half_mmacs * 1e6 / (peak_macs_per_s * share) * 1e6;
  };
  for (const auto& [kind, truth] : Truth()) {
    const Efficiency& e = fitted.EfficiencyFor(kind, "fp32");
    ASSERT_TRUE(e.overhead_us.has_value()) << kind;
    const auto [half_mmacs, half_kbytes] = ramps_.at(kind);
    // Every kind has memory-bound samples.
    EXPECT_NEAR(e.bandwidth, truth.bandwidth, kParameterTolerance * truth.bandwidth) << kind;
    const double memory = memory_intercept_us(truth.overhead_us, half_kbytes, truth.bandwidth);
    EXPECT_NEAR(memory_intercept_us(*e.overhead_us, e.half_kbytes, e.bandwidth), memory,
                kParameterTolerance * memory)
        << kind;
    if (regimes[kind].count("compute")) {
      EXPECT_NEAR(e.compute, truth.compute, kParameterTolerance * truth.compute) << kind;
    }
    // The compute-side intercept where it is a visible share (10%) of a compute-bound sample.
    const double compute = compute_intercept_us(truth.overhead_us, half_mmacs, truth.compute);
    if (shortest_compute_bound_us[kind] > 0 && shortest_compute_bound_us[kind] < 10 * compute) {
      EXPECT_NEAR(compute_intercept_us(*e.overhead_us, e.half_mmacs, e.compute), compute,
                  kParameterTolerance * compute)
          << kind;
    }
  }

  // Networks it was not fitted on, in the same regimes.
  for (const auto& [width, size] : std::vector<std::pair<int, int>>{{20, 24}, {40, 14}, {12, 48}}) {
    const NetworkSpec spec = SmallNet("held-out", width, size);
    const double expected = truth_->Cost(spec).latency_ms;
    const DeviceCost predicted = RooflineCost(fitted, "fitted", spec, {});
    ASSERT_TRUE(predicted.ok) << predicted.error;
    EXPECT_NEAR(predicted.latency_ms, expected, kHeldOutTolerance * expected)
        << width << "x" << size;
  }
}

TEST_F(CalibrationTest, ABatch1EntrySharesItsBatchedEntrysBandwidthAndFitsItsOwnCompute) {
  // The truth runs batch-1 convs at half the compute share and half the launch cost.
  const std::string truth_efficiency =
      "  conv/fp32: {compute: 0.6, bandwidth: 0.7, overhead_us: 6}\n"
      "  conv/fp32@b1: {compute: 0.3, bandwidth: 0.7, overhead_us: 3}\n";
  const auto truth = LoadDeviceModel(dir_.Write(
      "fixture_truth_b1.yaml", DeviceYaml("fixture-truth", truth_efficiency) + "batch1_kernels: true\n"));
  const DeviceSpec base = ParseDeviceSpec(ConfigNode::LoadFile(
      dir_.Write("fixture_base_b1.yaml", BaseYaml() + "batch1_kernels: true\n")));
  std::vector<Sample> samples;
  for (int batch : {1, 4}) {
    // Compute-bound and memory-bound 3x3 convs, as in LayerSamples().
    for (const auto& [cin, cout, h] : std::vector<std::tuple<int, int, int>>{
             {32, 32, 32}, {64, 64, 16}, {64, 128, 28}, {128, 128, 14}, {4, 4, 128}, {3, 8, 224},
             {8, 8, 112}, {4, 8, 160}}) {
      samples.push_back({Net({Conv(cin, cout, 3, h)}, "conv"), batch});
    }
  }
  const CalibrationResult result = Calibrate(base, Measure(*truth, samples), 2);
  EXPECT_EQ(result.fitted_keys, (std::vector<std::string>{"conv/fp32", "conv/fp32@b1"}));
  const Efficiency& batched = result.fitted.efficiency.at("conv/fp32");
  const Efficiency& single = result.fitted.efficiency.at("conv/fp32@b1");
  // One memory: the batch-1 entry carries the batched entry's bandwidth, not a fit of its own.
  EXPECT_EQ(single.bandwidth, batched.bandwidth);
  EXPECT_EQ(single.half_kbytes, batched.half_kbytes);
  EXPECT_NEAR(batched.bandwidth, 0.7, kParameterTolerance * 0.7);
  // Its own compute: half the batched share, as in the truth.
  EXPECT_NEAR(single.compute / batched.compute, 0.5, 0.05);
  EXPECT_LT(result.rms_relative_error, 0.05);
}

TEST_F(CalibrationTest, FitsTheEagerDispatchCost) {
  // The truth dispatches each op in eager mode for at least 30 us.
  std::vector<Sample> samples = LayerSamples();
  const std::vector<std::pair<int, int>> nets = {{16, 32}, {32, 16}, {8, 8}};
  for (const auto& [width, size] : nets) samples.push_back({SmallNet("net", width, size), 1});
  UseRampsFor(samples, "eager_overhead_us: 30\n");
  std::vector<MeasuredNetwork> measured =
      Measure(*truth_, std::vector<Sample>(samples.begin(), samples.end() - nets.size()));
  for (const auto& [width, size] : nets) {
    MeasuredNetwork m;
    m.id = "eager " + std::to_string(width);
    m.kind = "net";
    m.spec = SmallNet("net", width, size);
    m.options.mode = ExecutionMode::kEager;
    m.measured_ms = truth_->Cost(m.spec, m.options).latency_ms;
    measured.push_back(m);
  }
  const CalibrationResult result = Calibrate(base_, measured, 2);
  EXPECT_LT(result.rms_relative_error, kFitRms);
  EXPECT_NE(std::find(result.fitted_keys.begin(), result.fitted_keys.end(), "eager_overhead_us"),
            result.fitted_keys.end());
  EXPECT_NEAR(result.fitted.eager_overhead_us, 30.0, kParameterTolerance * 30.0);
}

TEST_F(CalibrationTest, ASamplePrecisionTheBaseLacksIsAConfigErrorNamingTheSample) {
  std::vector<MeasuredNetwork> measured = Measure(*truth_, LayerSamples());
  MeasuredNetwork half = measured[0];
  half.id = "fixture_rows.csv:7";
  half.options.float_format = FloatFormat::kFp16;
  measured.push_back(half);
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Calibrate(base_, measured, 1); },
      {"fixture_rows.csv:7: ", "layer 0 (conv): no fp16 arithmetic on this device; it runs: fp32"}));

  MeasuredNetwork int8 = measured[0];
  int8.id = "fixture_rows.csv:9";
  int8.spec.layers[0].policy.w_bits = int8.spec.layers[0].policy.a_bits = 8;
  measured.back() = int8;
  // int8 is no native width of the base and there is no wider one: it is dequantized to fp32,
  // which the base has, so this one is costed.
  EXPECT_NO_THROW(Calibrate(base_, {measured[0], int8}, 1));

  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Calibrate(base_, {}, 1); },
                                      {"calibration needs at least one measurement"}));
  MeasuredNetwork zero = measured[0];
  zero.id = "fixture_rows.csv:3";
  zero.measured_ms = 0;
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Calibrate(base_, {zero}, 1); },
                                      {"fixture_rows.csv:3", "measured time must be > 0"}));
}

// The record says which timing statistic a device was fitted to, so that a measurement made
// later (a run's host front members) is stored in the same one.
TEST_F(CalibrationTest, TheRecordReadsTheTimingStatisticTheFitUsed) {
  auto record_of = [&](const std::string& calibration) {
    return ReadCalibrationRecord(dir_.Write(
        "fixture_calibrated.yaml", BaseYaml() + "calibration:\n  base: fixture_base.yaml\n" + calibration));
  };
  EXPECT_EQ(record_of("  timing: min\n").timing, TimingStatistic::kMin);
  EXPECT_EQ(record_of("  timing: median\n").timing, TimingStatistic::kMedian);
  EXPECT_EQ(record_of("").timing, TimingStatistic::kMedian);  // files from before the key
  EXPECT_EQ(ReadCalibrationRecord(base_path_).timing, TimingStatistic::kMedian);  // not calibrated
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { record_of("  timing: mean\n"); },
                                      {"fixture_calibrated.yaml:", "mean", "median, min"}));
}

// A device calibrated on another host predicts this one's networks off by a common factor; a run
// that measures its front says so once, with the factor, and stays quiet within the tolerance.
TEST(CalibrationDrift, WarnsOnlyWhenTheMedianRatioLeavesTheTolerance) {
  EXPECT_EQ(CalibrationDriftWarning("host-cpu", {}), "");
  EXPECT_EQ(CalibrationDriftWarning("host-cpu", {0.9, 1.2, 1.0, 3.0, 0.85}), "");
  EXPECT_EQ(CalibrationDriftWarning("host-cpu", {1.5, 1.37, 1.4}),
            "warning: host-cpu: networks measured on this machine take 1.40x the latency its "
            "model predicts (median of 3); it was calibrated on another host, so recalibrate it "
            "here with `hwnas hw measure` and `hwnas hw calibrate`");
  const std::string faster = CalibrationDriftWarning("h100", {0.5, 0.6, 0.7, 0.2});
  EXPECT_NE(faster.find("h100: networks measured on this machine take 0.60x"), std::string::npos);
  EXPECT_EQ(CalibrationDriftWarning("host-cpu", {1.25}), "");  // the tolerance's own edge
  EXPECT_NE(CalibrationDriftWarning("host-cpu", {1.3}, 0.25), "");
}

#ifdef HWNAS_BINARY
// A nets file of four small networks and a measurement file made by the truth: two batches of
// each network, the first conv of each as a layer row of its network, and four layer rows of no
// network.
class CalibrateCommandTest : public CalibrationTest {
 protected:
  void SetUp() override {
    CalibrationTest::SetUp();
    std::string nets;
    const std::vector<std::tuple<std::string, int, int>> shapes = {
        {"n0", 8, 32}, {"n1", 16, 16}, {"n2", 24, 32}, {"n3", 32, 8}};
    for (const auto& [id, width, size] : shapes) {
      const std::string w = std::to_string(width);
      nets += "{\"net\": \"" + id + "\", \"input\": [3, " + std::to_string(size) + ", " +
              std::to_string(size) +
              "], \"classes\": 10, \"layers\": ["
              "{\"op\": \"conv\", \"cin\": 3, \"cout\": " + w +
              ", \"k\": 3, \"stride\": 1, \"act\": \"relu\"}, "
              "{\"op\": \"block\", \"residual\": true, \"layers\": ["
              "{\"op\": \"conv\", \"cin\": " + w + ", \"cout\": " + w + ", \"k\": 3, "
              "\"stride\": 1, \"groups\": " + w + ", \"act\": \"relu\"}, "
              "{\"op\": \"conv\", \"cin\": " + w + ", \"cout\": " + w +
              ", \"k\": 1, \"stride\": 1, \"act\": \"none\"}]}, "
              "{\"op\": \"gap\"}, {\"op\": \"linear\", \"cin\": " + w + ", \"cout\": 10}]}\n";
    }
    nets_path_ = dir_.Write("fixture_nets.jsonl", nets);
    std::vector<Measurement> rows;
    auto row = [](const std::string& net, const std::string& kind, int batch) {
      Measurement m;
      m.net = net;
      m.kind = kind;
      m.batch = batch;
      m.median_us = m.min_us = m.max_us = 1;
      m.reps = 10;
      m.warmups = 2;
      m.device = "fixture-truth";
      m.source = "calibration_test";
      m.tool = "RooflineCost";
      m.measured_at = "2026-11-26";
      return m;
    };
    for (const auto& [id, width, size] : shapes) {
      for (const int batch : {1, 8}) rows.push_back(row(id, "net", batch));
      Measurement conv = row(id, "conv", 1);
      conv.layer = "0";
      conv.shape = Conv(3, width, 3, size);
      conv.batch_norm = conv.relu = true;
      rows.push_back(conv);
    }
    for (const auto& [cin, cout, k, h] : std::vector<std::tuple<int, int, int, int>>{
             {16, 16, 3, 32}, {32, 64, 1, 16}, {64, 64, 3, 8}, {8, 8, 1, 64}}) {
      Measurement conv = row("", "conv", 1);
      conv.shape = Conv(cin, cout, k, h);
      rows.push_back(conv);
    }
    // The truth's latency for each row.
    measurements_path_ = dir_.File("fixture_measurements.csv");
    SaveMeasurements(measurements_path_, rows);
    std::map<std::string, NetworkSpec> by_id;
    for (auto& spec : LoadNetsFile(nets_path_)) by_id.emplace(spec.key, spec);
    const auto paired = PairMeasurements(LoadMeasurements(measurements_path_), by_id);
    ASSERT_EQ(paired.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const DeviceCost cost = truth_->Cost(paired[i].spec, paired[i].options);
      ASSERT_TRUE(cost.ok) << cost.error;
      rows[i].median_us = rows[i].min_us = rows[i].max_us = cost.latency_ms * 1e3;
    }
    SaveMeasurements(measurements_path_, rows);
    rows_ = rows;
  }

  test::CommandResult Hwnas(std::vector<std::string> args) const {
    args.insert(args.begin(), test::HwnasBinary());
    return test::RunCommand(args, dir_);
  }

  std::string nets_path_;
  std::string measurements_path_;
  std::vector<Measurement> rows_;
};

TEST_F(CalibrateCommandTest, WritesACalibratedDeviceThatValidateLeavesTheFittedDataOutOf) {
  const std::string out = dir_.File("fixture_fitted.yaml");
  const auto fit = Hwnas({"hw", "calibrate", "--device", base_path_, "--measurements",
                          measurements_path_, "--nets", nets_path_, "--holdout-nets", "0.5",
                          "--threads", "2", "--out", out});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_NE(fit.err.find("calibrating fixture-base on 10 measurements"), std::string::npos)
      << fit.err;  // 4 unnamed rows and the 2 x 3 rows of the two fitted nets
  // Each layer row fitted on leaves a residual: the 4 unnamed ones and a conv of each net.
  EXPECT_NE(fit.err.find(" 6 layer residuals"), std::string::npos) << fit.err;

  const auto device = LoadDeviceModel(out);
  EXPECT_EQ(device->info().kind, "calibrated");
  EXPECT_EQ(device->name(), "fixture-base");
  const ConfigNode record = ConfigNode::LoadFile(out).Child("calibration");
  EXPECT_EQ(record.String("base"), base_path_);
  // Relative to the written file's folder, as every path in a YAML.
  EXPECT_EQ(record.StringList("measurements"),
            std::vector<std::string>{std::filesystem::path(measurements_path_).filename().string()});
  EXPECT_EQ(record.String("nets"), nets_path_);
  EXPECT_EQ(record.Int("fitted_rows", 0, 1000), 10);
  const auto fitted = record.StringList("fitted_nets");
  const auto held = record.StringList("held_out_nets");
  ASSERT_EQ(fitted.size(), 2u);
  ASSERT_EQ(held.size(), 2u);
  std::set<std::string> all(fitted.begin(), fitted.end());
  all.insert(held.begin(), held.end());
  EXPECT_EQ(all, (std::set<std::string>{"n0", "n1", "n2", "n3"}));
  const double rms = std::stod(record.String("rms_relative_error"));
  EXPECT_GE(rms, 0.0);
  EXPECT_LT(rms, 0.1);

  const auto check = Hwnas({"hw", "validate", "--device", out, "--measurements",
                            measurements_path_, "--nets", nets_path_, "--format", "csv"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  // Left out: every row of the fitted nets and the unnamed rows of the fitted file.
  int left_out = 0;
  for (const auto& row : rows_) {
    left_out += row.net.empty() || std::find(fitted.begin(), fitted.end(), row.net) != fitted.end();
  }
  EXPECT_EQ(left_out, 10);
  EXPECT_EQ(check.err, "fixture-base: left out " + std::to_string(left_out) +
                           " measurements the device was fitted on\n");
  // What is validated: the 2 x 3 rows of the held-out nets.
  const auto lines = test::SplitLines(check.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "rows,count,within_10pct,mape_pct,spearman,kendall");
  std::map<std::string, std::vector<std::string>> groups;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto fields = test::SplitFields(lines[i]);
    groups[fields[0]] = fields;
  }
  ASSERT_TRUE(groups.count("all")) << check.out;
  EXPECT_EQ(groups["all"][1], "6");
  EXPECT_EQ(groups["net graph"][1], "4");
  EXPECT_EQ(groups["conv graph"][1], "2");
  EXPECT_LT(std::stod(groups["all"][3]), 20.0) << "mape_pct on the held-out nets";
}

// --kinds net fits the efficiencies on the network rows alone; the layer rows of those networks
// still give residuals (network rows cannot say which layer erred), while layer rows of no
// network stay unseen, and validate then checks them.
TEST_F(CalibrateCommandTest, KindsLimitsTheFitToThoseRowsAndTheRecordSaysSo) {
  const std::string out = dir_.File("fixture_nets_only.yaml");
  const auto fit = Hwnas({"hw", "calibrate", "--device", base_path_, "--measurements",
                          measurements_path_, "--nets", nets_path_, "--kinds", "net",
                          "--threads", "2", "--out", out});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_NE(fit.err.find("calibrating fixture-base on 8 measurements"), std::string::npos)
      << fit.err;  // the 4 nets at batch 1 and 8
  EXPECT_NE(fit.err.find(" 4 layer residuals"), std::string::npos) << fit.err;
  const ConfigNode config = ConfigNode::LoadFile(out);
  EXPECT_TRUE(config.Has("residuals"));
  EXPECT_EQ(config.Child("calibration").StringList("kinds"), std::vector<std::string>{"net"});

  const auto check = Hwnas({"hw", "validate", "--device", out, "--measurements",
                            measurements_path_, "--nets", nets_path_, "--format", "csv"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  // Every row of the 4 fitted nets is left out; the 4 unnamed conv rows were not fitted on.
  EXPECT_EQ(check.err, "fixture-base: left out 12 measurements the device was fitted on\n");

  const auto bad = Hwnas({"hw", "calibrate", "--device", base_path_, "--measurements",
                          measurements_path_, "--nets", nets_path_, "--kinds", "net,layer",
                          "--out", dir_.File("never.yaml")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(
      bad.err.find("--kinds: unknown kind 'layer'; valid: conv, linear, add, gap, convert, net"),
      std::string::npos)
      << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.File("never.yaml")));
}
#endif

}  // namespace
}  // namespace hwnas
