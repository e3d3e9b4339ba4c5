// What every device model must do, whatever its kind, run over every device YAML shipped in
// configs/devices/ and its folders (datasheet/): found by listing them, so a new device joins by
// being there. It loads under its file's name (<stem>-<folder> in a folder, e.g.
// datasheet/h100.yaml is h100-datasheet); a degenerate network is a FAIL naming the layer,
// never a crash and never a number; an analytic model never predicts a network with more work
// at the same precision as faster (measured residuals aside), and treats bit widths it lacks as
// its YAML says; a measured model (table, lut) refuses compressed networks, which it holds no
// measurements of.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <yaml-cpp/yaml.h>

#include "core/config_node.h"
#include "core/rng.h"
#include "hwmodels/device_model.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/dtype.h"
#include "search/search_space.h"
#include "layer_builders.h"
#include "test_util.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;
using test::Conv;
using test::Elementwise;
using test::SourcePath;

// Floating-point rounding allowed when two latencies should be ordered.
constexpr double kOrderSlack = 1e-12;
// Candidates drawn from a space to find one a measured device holds.
constexpr int kDrawsPerSpace = 40;

// Paths relative to configs/devices without ".yaml": "h100", "datasheet/h100".
std::vector<std::string> ShippedDevices() {
  const fs::path root = SourcePath("configs/devices");
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".yaml") continue;
    names.push_back(fs::relative(entry.path(), root).replace_extension().generic_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string DevicePath(const std::string& relative) {
  return SourcePath("configs/devices/" + relative + ".yaml");
}

// The name a device file must declare: its stem, then "-<folder>" when it is in one.
std::string ExpectedName(const std::string& relative) {
  const fs::path path(relative);
  const std::string folder = path.parent_path().generic_string();
  return path.stem().string() + (folder.empty() ? "" : "-" + folder);
}

bool IsAnalytic(const DeviceModel& device) {
  return device.info().kind == "roofline" || device.info().kind == "calibrated";
}

// A small MobileNet-like network: a stride-2 stem, a depthwise-separable residual block, a
// widening 1x1 conv of `head` channels, pooling and a classifier. Every layer's work grows with
// `width`, `head` and `size`.
NetworkSpec Chain(int width, int size, int head) {
  NetworkSpec spec;
  spec.key = "chain";
  spec.in_channels = 3;
  spec.in_size = size;
  spec.classes = 10;
  auto& l = spec.layers;
  l.push_back(Conv(3, width, 3, size, 2));
  const int h = l.back().HOut();
  l.push_back(Elementwise(LayerOp::kBatchNorm, width, h));
  l.push_back(Elementwise(LayerOp::kRelu, width, h));
  const int block = static_cast<int>(l.size());
  l.push_back(Conv(width, width, 3, h, 1, width));
  l.push_back(Elementwise(LayerOp::kBatchNorm, width, h));
  l.push_back(Elementwise(LayerOp::kRelu, width, h));
  l.push_back(Conv(width, width, 1, h));
  l.push_back(Elementwise(LayerOp::kBatchNorm, width, h));
  Layer add = Elementwise(LayerOp::kAdd, width, h);
  add.residual_from = block;
  l.push_back(add);
  l.push_back(Conv(width, head, 1, h));
  l.push_back(Elementwise(LayerOp::kBatchNorm, head, h));
  l.push_back(Elementwise(LayerOp::kRelu, head, h));
  l.push_back(Elementwise(LayerOp::kGlobalAvgPool, head, h));
  l.push_back({LayerOp::kLinear, head, 10, 1, 1, 1, 0, 1, {}});
  return spec;
}

class DeviceConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    name_ = ExpectedName(GetParam());
    device_ = LoadDeviceModel(DevicePath(GetParam()));
  }
  std::string name_;
  std::unique_ptr<DeviceModel> device_;
};

TEST_P(DeviceConformance, LoadsUnderItsFileName) {
  EXPECT_EQ(device_->name(), name_);
  EXPECT_EQ(device_->info().file, DevicePath(GetParam()));
  const auto kinds = DeviceKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), device_->info().kind), kinds.end())
      << device_->info().kind;
  EXPECT_FALSE(device_->info().description.empty());
}

TEST_P(DeviceConformance, DegenerateNetworksFailNamingTheLayer) {
  const NetworkSpec good = Chain(16, 32, 32);
  struct Case {
    const char* what;
    Layer layer;
    const char* reason;
  };
  Layer no_input = Conv(0, 16, 3, 16);
  Layer negative = Conv(16, -4, 3, 16);
  Layer too_wide = Conv(16, 16, 7, 3);
  too_wide.padding = 0;  // 7x7 over a 3x3 input
  Layer too_wide_strided = Conv(16, 16, 5, 4, 2);
  too_wide_strided.padding = 0;  // 5x5 over a 4x4 input: no output, whatever the stride
  Layer empty_input = Conv(16, 16, 3, 0);
  const Case cases[] = {
      {"cin 0", no_input, "zero-size or negative shape"},
      {"cout -4", negative, "zero-size or negative shape"},
      {"empty input", empty_input, "zero-size or negative shape"},
      {"kernel 7 over 3x3", too_wide, "the kernel is larger than the padded input"},
      {"kernel 5 over 4x4, stride 2", too_wide_strided,
       "the kernel is larger than the padded input"},
      {"groups 5 of 16 channels", Conv(16, 20, 3, 16, 1, 5), "groups must divide the channels"},
      {"groups 4 of 18 outputs", Conv(16, 18, 3, 16, 1, 4), "groups must divide the channels"},
  };
  for (const auto& c : cases) {
    NetworkSpec spec = good;
    spec.layers[6] = c.layer;  // the block's 1x1 conv
    for (const bool breakdown : {false, true}) {
      CostOptions options;
      options.breakdown = breakdown;
      const DeviceCost cost = device_->Cost(spec, options);
      EXPECT_FALSE(cost.ok) << c.what;
      EXPECT_EQ(cost.error, name_ + ": layer 6 (conv): " + c.reason) << c.what;
      EXPECT_TRUE(cost.layers.empty()) << c.what;
    }
  }
  for (const int batch : {0, -1}) {
    CostOptions options;
    options.batch = batch;
    const DeviceCost cost = device_->Cost(good, options);
    EXPECT_FALSE(cost.ok) << "batch " << batch;
    EXPECT_EQ(cost.error, name_ + ": batch size must be at least 1");
  }
}

// Latencies of `specs` (in order of growing work) must not decrease, at every precision the
// device runs (the run's float format, integer and 2:4 dtypes), in graph and eager mode, at
// batch 1 and 2; and batch 2 is never faster than batch 1.
void ExpectNeverFaster(const DeviceModel& device, const std::vector<NetworkSpec>& specs,
                       const std::string& what) {
  int precisions = 0;
  for (const auto& name : DtypeNames()) {
    if (name == "mixed") continue;
    const Dtype dtype = *ParseDtype(name);
    for (const auto mode : {ExecutionMode::kGraph, ExecutionMode::kEager}) {
      CostOptions options;
      options.float_format = dtype.run_format;
      options.mode = mode;
      NetworkSpec first = specs[0];
      ApplyDtype(dtype, first);
      if (!device.Cost(first, options).ok) continue;  // a precision it lacks
      ++precisions;
      double previous = 0;
      for (size_t i = 0; i < specs.size(); ++i) {
        NetworkSpec spec = specs[i];
        ApplyDtype(dtype, spec);
        const std::string where = what + " #" + std::to_string(i) + " " + name +
                                  (mode == ExecutionMode::kEager ? " eager" : " graph");
        options.batch = 1;
        const DeviceCost one = device.Cost(spec, options);
        options.batch = 2;
        const DeviceCost two = device.Cost(spec, options);
        ASSERT_TRUE(one.ok && two.ok) << where << ": " << one.error << two.error;
        EXPECT_GT(one.latency_ms, 0.0) << where;
        EXPECT_GE(two.latency_ms, one.latency_ms * (1 - kOrderSlack)) << where << ": batch 2";
        EXPECT_GE(one.latency_ms, previous * (1 - kOrderSlack)) << where << ": more work, faster";
        previous = one.latency_ms;
      }
    }
  }
  EXPECT_GT(precisions, 0) << what << ": the device costs the network at no precision";
}

// The device without its measured residuals. They follow the kernels a library picks per
// shape, which are not ordered by work: on the H100 a 96->160 1x1 conv at 14x14 measured 31%
// faster than a 96->24 one (data/h100/net_layers.csv). The roofline under them is ordered.
std::unique_ptr<DeviceModel> WithoutResiduals(const std::string& path) {
  YAML::Node yaml = YAML::LoadFile(path);
  yaml.remove("residuals");
  return MakeDeviceModel(ConfigNode::LoadString(YAML::Dump(yaml), path), path);
}

TEST_P(DeviceConformance, MoreWorkAtTheSamePrecisionIsNeverFaster) {
  if (!IsAnalytic(*device_)) GTEST_SKIP() << device_->info().kind << " holds measurements";
  device_ = WithoutResiduals(DevicePath(GetParam()));
  // From 2: a one-channel "depthwise" conv is an ordinary conv, another op kind.
  const std::vector<int> widths = {2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
  const std::vector<int> sizes = {3,  4,  5,  6,  8,  12, 16,  24,  28,  32,
                                  48, 56, 64, 96, 112, 128, 160, 192, 224};
  for (const int size : {8, 32, 112}) {
    std::vector<NetworkSpec> specs;
    for (const int width : widths) specs.push_back(Chain(width, size, 2 * width));
    ExpectNeverFaster(*device_, specs, "width at " + std::to_string(size) + "x" +
                                           std::to_string(size));
  }
  for (const int width : {8, 64}) {
    std::vector<NetworkSpec> specs;
    for (const int size : sizes) specs.push_back(Chain(width, size, 2 * width));
    ExpectNeverFaster(*device_, specs, "input size at width " + std::to_string(width));
  }
  // One conv's cout alone.
  std::vector<NetworkSpec> specs;
  for (const int head : {1, 2, 3, 8, 16, 40, 64, 100, 256, 640, 1024, 2048}) {
    specs.push_back(Chain(16, 56, head));
  }
  ExpectNeverFaster(*device_, specs, "head cout");
}

// int6 is no native width of any shipped device: it runs as `unsupported_bits` says.
TEST_P(DeviceConformance, UnsupportedBitWidthsRunAsTheYamlSays) {
  if (!IsAnalytic(*device_)) GTEST_SKIP() << device_->info().kind << " holds measurements";
  const DeviceSpec spec = ParseDeviceSpec(ConfigNode::LoadFile(DevicePath(GetParam())));
  ASSERT_FALSE(spec.peak_tops.count("int6") || spec.peak_tops.count("w6a6"));
  NetworkSpec net = Chain(16, 32, 32);
  net.layers[6].policy.w_bits = 6;
  net.layers[6].policy.a_bits = 6;
  CostOptions options;
  options.breakdown = true;
  const DeviceCost cost = device_->Cost(net, options);
  const auto wider = std::lower_bound(spec.native_int_bits.begin(), spec.native_int_bits.end(), 6);
  if (spec.unsupported_bits == UnsupportedBits::kNextSupported &&
      wider != spec.native_int_bits.end()) {
    ASSERT_TRUE(cost.ok) << cost.error;
    const std::string label = "int6->int" + std::to_string(*wider);
    EXPECT_EQ(std::count_if(cost.layers.begin(), cost.layers.end(),
                            [&](const LayerCost& step) { return step.precision == label; }),
              1)
        << label;
  } else if (spec.peak_tops.count("fp32")) {
    // dequantize, or no wider native width to run at: unpacked into fp32 arithmetic.
    ASSERT_TRUE(cost.ok) << cost.error;
    EXPECT_EQ(std::count_if(cost.layers.begin(), cost.layers.end(),
                            [](const LayerCost& step) {
                              return step.precision == "int6->fp32 (dequantized)";
                            }),
              1);
  } else {
    EXPECT_FALSE(cost.ok);
    EXPECT_NE(cost.error.find("layer 6 (conv): no fp32 arithmetic on this device; it runs: "),
              std::string::npos)
        << cost.error;
  }
}

// A network a measured device holds, from the first shipped space that has one.
std::optional<NetworkSpec> HeldNetwork(const DeviceModel& device) {
  for (const auto& entry : fs::directory_iterator(SourcePath("configs/spaces"))) {
    if (entry.path().extension() != ".yaml") continue;
    const auto space = LoadSearchSpace(entry.path().string());
    Rng rng(7);
    for (int i = 0; i < kDrawsPerSpace; ++i) {
      NetworkSpec spec = space->Expand(space->Sample(rng));
      if (device.Cost(spec).ok) return spec;
    }
  }
  return std::nullopt;
}

TEST_P(DeviceConformance, MeasuredDevicesRefuseCompressedNetworks) {
  if (IsAnalytic(*device_)) GTEST_SKIP() << "an analytic model costs compression";
  // A look-up table with a compression roofline scales its entries instead (the next test).
  if (ConfigNode::LoadFile(DevicePath(GetParam())).Has("compression_roofline")) GTEST_SKIP();
  const auto held = HeldNetwork(*device_);
  ASSERT_TRUE(held.has_value()) << "no shipped space has a network " << GetParam() << " holds";
  ASSERT_TRUE(held->IsUncompressed());
  int compressed = 0;
  for (const std::string dtype : {"int8", "int4", "w8a16", "sp24_fp16"}) {
    NetworkSpec spec = *held;
    ApplyDtype(*ParseDtype(dtype), spec);
    ASSERT_FALSE(spec.IsUncompressed()) << dtype;
    const DeviceCost cost = device_->Cost(spec);
    EXPECT_FALSE(cost.ok) << dtype;
    EXPECT_EQ(cost.error.rfind(name_ + ": ", 0), 0u) << cost.error;
    EXPECT_NE(cost.error.find("uncompressed"), std::string::npos) << dtype << ": " << cost.error;
    ++compressed;
  }
  // One low-rank conv is enough.
  NetworkSpec low_rank = *held;
  for (auto& layer : low_rank.layers) {
    if (layer.op == LayerOp::kConv && layer.groups == 1) {
      layer.policy.rank_ratio = 0.5;
      break;
    }
  }
  ASSERT_FALSE(low_rank.IsUncompressed());
  const DeviceCost cost = device_->Cost(low_rank);
  EXPECT_FALSE(cost.ok);
  EXPECT_NE(cost.error.find("uncompressed"), std::string::npos) << cost.error;
  EXPECT_EQ(compressed, 4);
  // Nor another float format or batch than the one measured.
  CostOptions fp16;
  fp16.float_format = FloatFormat::kFp16;
  EXPECT_FALSE(device_->Cost(*held, fp16).ok);
  CostOptions batch;
  batch.batch = 2;
  EXPECT_FALSE(device_->Cost(*held, batch).ok);
}

TEST_P(DeviceConformance, LookUpTablesScaleCompressedEntriesByTheirRoofline) {
  if (!ConfigNode::LoadFile(DevicePath(GetParam())).Has("compression_roofline")) GTEST_SKIP();
  const auto held = HeldNetwork(*device_);
  ASSERT_TRUE(held.has_value());
  const DeviceCost dense = device_->Cost(*held);
  ASSERT_TRUE(dense.ok) << dense.error;
  for (const std::string dtype : {"int8", "int4"}) {
    NetworkSpec spec = *held;
    ApplyDtype(*ParseDtype(dtype), spec);
    CostOptions breakdown;
    breakdown.breakdown = true;
    const DeviceCost cost = device_->Cost(spec, breakdown);
    ASSERT_TRUE(cost.ok) << dtype << ": " << cost.error;
    // A scaled entry is a prediction, marked in the breakdown.
    EXPECT_EQ(cost.source, CostSource::kPredicted) << dtype;
    EXPECT_GT(cost.latency_ms, 0.0);
    bool scaled = false;
    for (const auto& row : cost.layers) scaled = scaled || row.bound.ends_with("-scaled");
    EXPECT_TRUE(scaled) << dtype;
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, DeviceConformance, ::testing::ValuesIn(ShippedDevices()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-' || c == '/') c = '_';
                           }
                           return name;
                         });

// The suite runs on every device there is: the shipped kinds are all covered.
TEST(DeviceConformanceCoverage, EveryKindIsShipped) {
  std::set<std::string> kinds;
  for (const auto& name : ShippedDevices()) {
    kinds.insert(LoadDeviceModel(DevicePath(name))->info().kind);
  }
  for (const auto& kind : DeviceKinds()) EXPECT_TRUE(kinds.count(kind)) << kind;
}

}  // namespace
}  // namespace hwnas
