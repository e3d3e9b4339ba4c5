// Measurement rows timed on the host: provenance, timing fields, layer rows; and the CLI that
// writes them.
#include "hwmodels/host/host_measure.h"

#include <gtest/gtest.h>

#include "core/rng.h"
#include "hwmodels/device_model.h"
#include "hwmodels/host/host_network.h"
#include "hwmodels/host/random_nets.h"
#include "hwmodels/net_file.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

NetworkSpec SmallNet(const std::string& dtype, const test::TempDir& dir) {
  const std::string path = dir.File("net.jsonl");
  test::WriteFile(
      path,
      R"({"net": "n0", "input": [3, 16, 16], "classes": 10, "layers": [)"
      R"({"op": "conv", "cin": 3, "cout": 8, "k": 3, "stride": 2, "groups": 1, "act": "relu", "dtype": ")" +
          dtype +
          R"("},)"
          R"({"op": "block", "residual": true, "layers": [)"
          R"({"op": "conv", "cin": 8, "cout": 8, "k": 3, "stride": 1, "groups": 8, "act": "relu"},)"
          R"({"op": "conv", "cin": 8, "cout": 8, "k": 1, "stride": 1, "groups": 1, "act": "none", "dtype": "int8"}]},)"
          R"({"op": "gap"}, {"op": "linear", "cin": 8, "cout": 10}]})"
          "\n");
  return LoadNetsFile(path)[0];
}

// What the host runs of a compressed layer: int8 at 8 bits or fewer, its float format
// otherwise, a low rank as two layers, and no sparsity (dense kernels only).
TEST(HostDeployable, MapsEachPolicyToAKernelTheHostHas) {
  auto conv = [](LayerPolicy policy) {
    Layer layer;
    layer.op = LayerOp::kConv;
    layer.cin = 16;
    layer.cout = 32;
    layer.kernel = 3;
    layer.padding = 1;
    layer.h_in = 8;
    layer.policy = policy;
    NetworkSpec spec;
    spec.layers = {layer};
    return HostDeployable(spec).layers;
  };
  const auto int8 = conv({.w_bits = 4, .a_bits = 32, .sparsity = 0.5});
  ASSERT_EQ(int8.size(), 1u);
  EXPECT_EQ(int8[0].policy, (LayerPolicy{.w_bits = 8, .a_bits = 8}));
  const auto bf16 = conv({.sparsity = 0.75, .float_format = FloatFormat::kBf16});
  ASSERT_EQ(bf16.size(), 1u);
  EXPECT_EQ(bf16[0].policy, (LayerPolicy{.float_format = FloatFormat::kBf16}));
  // Rank 1/4 of min(32, 16 x 3 x 3) = 8: a 3x3 conv to 8 channels, then a 1x1 conv to 32.
  const auto low_rank = conv({.rank_ratio = 0.25});
  ASSERT_EQ(low_rank.size(), 2u);
  EXPECT_EQ(low_rank[0].cout, 8);
  EXPECT_EQ(low_rank[0].kernel, 3);
  EXPECT_EQ(low_rank[1].cin, 8);
  EXPECT_EQ(low_rank[1].cout, 32);
  EXPECT_EQ(low_rank[1].kernel, 1);
  EXPECT_TRUE(low_rank[1].policy.IsDense());
}

// A search costs candidates on host-cpu as their policies say; the host measures them as it
// deploys them. The shipped device says how the host runs them (int8 for any operand of 8 bits
// or fewer, pruned channels computed), so both cost the same but for a few bytes: the roofline
// keeps 2-7 bit weights at their width where the host widens them to int8.
TEST(HostDeployable, TheShippedHostCpuCostsACandidateAsTheHostDeploysIt) {
  const auto space = LoadSearchSpace(test::SourcePath("configs/spaces/fmnist.yaml"));
  const auto device = LoadDeviceModel(test::SourcePath("configs/devices/host-cpu.yaml"));
  Rng rng(7);
  double worst = 0;
  for (const NetworkSpec& spec : DistinctSampledNetworks(*space, 300, rng)) {
    const DeviceCost as_searched = device->Cost(spec);
    const DeviceCost as_deployed = device->Cost(HostDeployable(spec));
    ASSERT_TRUE(as_searched.ok && as_deployed.ok) << as_searched.error << as_deployed.error;
    worst = std::max(worst, std::abs(as_searched.latency_ms / as_deployed.latency_ms - 1));
  }
  EXPECT_LT(worst, 1e-3);
}

TEST(HostMeasure, TimeRepeatedKeepsMedianBetweenMinAndMax) {
  int calls = 0, prepared = 0;
  const Timing t = TimeRepeated(
      {.warmups = 3, .reps = 9}, [&] { ++calls; }, [&] { ++prepared; });
  EXPECT_EQ(calls, 12);
  EXPECT_EQ(prepared, 12);
  EXPECT_EQ(t.reps, 9);
  EXPECT_EQ(t.warmups, 3);
  EXPECT_LE(t.min_us, t.median_us);
  EXPECT_LE(t.median_us, t.max_us);
}

TEST(HostMeasure, RowsCarryProvenanceAndTiming) {
  test::TempDir dir;
  const NetworkSpec spec = SmallNet("int8", dir);
  HostMeasureOptions options;
  options.layers = true;
  options.batch = 2;
  options.timing = {.warmups = 2, .reps = 5};
  const auto rows = MeasureOnHost(spec, options);
  // The net; conv, conv, conv, add, gap, linear, and the conversions around the int8 layers.
  ASSERT_EQ(rows.size(), 11u);
  EXPECT_EQ(rows[0].kind, "net");
  EXPECT_EQ(rows[0].dtype, "mixed");
  EXPECT_EQ(rows[0].layer, "");
  for (const auto& row : rows) {
    SCOPED_TRACE(row.kind + " " + row.layer);
    EXPECT_EQ(row.net, "n0");
    EXPECT_EQ(row.device, "host-cpu");
    EXPECT_NE(row.source.find(" on "), std::string::npos) << row.source;
    EXPECT_NE(row.source.find("1 thread"), std::string::npos) << row.source;
    EXPECT_NE(row.tool.find("hwnas hw measure"), std::string::npos) << row.tool;
    EXPECT_NE(row.tool.find("oneDNN"), std::string::npos) << row.tool;
    EXPECT_EQ(row.measured_at.size(), 20u) << row.measured_at;  // 2026-11-25T10:04:59Z
    EXPECT_EQ(row.reps, 5);
    EXPECT_EQ(row.warmups, 2);
    EXPECT_EQ(row.batch, 2);
    EXPECT_GT(row.min_us, 0.0);
    EXPECT_LE(row.min_us, row.median_us);
    EXPECT_LE(row.median_us, row.max_us);
  }
}

TEST(HostMeasure, LayerRowsNameTheirLayerAndPrecision) {
  test::TempDir dir;
  const NetworkSpec spec = SmallNet("fp32", dir);
  HostMeasureOptions options;
  options.layers = true;
  options.timing = {.warmups = 0, .reps = 1};
  const auto rows = MeasureOnHost(spec, options);
  std::vector<std::string> got;
  for (size_t i = 1; i < rows.size(); ++i) {
    got.push_back(rows[i].kind + "@" + rows[i].layer + ":" + rows[i].dtype +
                  (rows[i].batch_norm ? "+bn" : "") + (rows[i].relu ? "+relu" : ""));
  }
  // Layers: conv 0, bn 1, relu 2 | dw conv 3, bn 4, relu 5, conv 6, bn 7, add 8 | gap 9, linear 10.
  // The int8 conv's input is quantized ahead of it and its output dequantized for the add.
  const std::vector<std::string> want = {
      "conv@0:fp32+bn+relu", "conv@3:fp32+bn+relu", "convert@6:int8", "conv@6:int8+bn",
      "convert@8:fp32",      "add@8:fp32",          "gap@9:fp32",     "linear@10:fp32"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(rows[4].shape.kernel, 1);
  EXPECT_EQ(rows[2].shape.groups, 8);
  EXPECT_EQ(rows[2].shape.h_in, 8);
  // The conversions name both widths and the tensor converted: the input of layers 6 and 8.
  const Measurement& quantize = rows[3];
  EXPECT_EQ(quantize.from_dtype, "fp32");
  EXPECT_EQ(quantize.shape.cin, spec.layers[6].cin);
  EXPECT_EQ(quantize.shape.cout, spec.layers[6].cin);
  EXPECT_EQ(quantize.shape.h_in, spec.layers[6].h_in);
  const Measurement& dequantize = rows[5];
  EXPECT_EQ(dequantize.from_dtype, "int8");
  EXPECT_EQ(dequantize.shape.cin, spec.layers[8].cin);
  EXPECT_EQ(dequantize.shape.h_in, spec.layers[8].h_in);
}

// Layer rows are timed inside whole passes, one sample of each step per pass: a row per step,
// conversions included, each with every repetition.
TEST(HostMeasure, LayerRowsCoverEveryStepOfThePass) {
  test::TempDir dir;
  const NetworkSpec spec = SmallNet("int8", dir);
  HostNetwork network(spec, 1, 0);
  const auto timings = network.TimeStepsInPass({.warmups = 1, .reps = 7});
  ASSERT_EQ(timings.size(), network.steps().size());
  for (const auto& t : timings) {
    EXPECT_EQ(t.reps, 7);
    EXPECT_GT(t.min_us, 0.0);
    EXPECT_LE(t.min_us, t.median_us);
    EXPECT_LE(t.median_us, t.max_us);
  }
  HostMeasureOptions options;
  options.layers = true;
  options.timing = {.warmups = 0, .reps = 1};
  const auto rows = MeasureOnHost(spec, options);
  size_t timed_steps = 0;
  for (const auto& step : network.steps()) {
    timed_steps += step.kind == "conv" || step.kind == "linear" || step.kind == "add" ||
                   step.kind == "gap" || step.kind == "quantize" || step.kind == "dequantize";
  }
  EXPECT_EQ(rows.size(), timed_steps + 1);
}

class HostMeasureCli : public test::CliFixture {};

TEST_F(HostMeasureCli, WritesACsvThatLoadMeasurementsReadsBack) {
  ASSERT_EQ(
      Hwnas({"hw", "random-nets", "--count", "2", "--seed", "3", "--out", "nets.jsonl"}).exit_code,
      0);
  const auto r = Hwnas({"hw", "measure", "--nets", "nets.jsonl", "--layers", "--reps", "3",
                        "--warmups", "1", "--out", "m.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto nets = LoadNetsFile(dir_.File("nets.jsonl"));
  const auto rows = LoadMeasurements(dir_.File("m.csv"));
  size_t net_rows = 0;
  for (const auto& row : rows) {
    net_rows += row.IsNetwork();
    EXPECT_EQ(row.device, "host-cpu");
    EXPECT_FALSE(row.source.empty());
    EXPECT_FALSE(row.tool.empty());
    EXPECT_FALSE(row.measured_at.empty());
    EXPECT_EQ(row.reps, 3);
    EXPECT_EQ(row.warmups, 1);
  }
  EXPECT_EQ(net_rows, nets.size());
  EXPECT_GT(rows.size(), 2 * nets.size());
}

TEST_F(HostMeasureCli, BadInputsAreOneLineErrors) {
  ExpectOneLineError(Hwnas({"hw", "measure", "--nets", "missing.jsonl", "--out", "m.csv"}),
                     {"missing.jsonl", "cannot open"});
  const std::string line =
      R"({"net": "x", "input": [1, 8, 8], "classes": 2, "layers": [{"op": "conv", "cin": 1, "cout": 4, "k": 3, "stride": 1, "groups": 1, "act": "relu", "dtype": "int3"}]})";
  test::WriteFile(dir_.File("bad.jsonl"), line + "\n");
  ExpectOneLineError(Hwnas({"hw", "measure", "--nets", "bad.jsonl", "--out", "m.csv"}),
                     {"bad.jsonl", "unknown dtype 'int3'"});
  std::string fp16 = line;
  fp16.replace(fp16.find("int3"), 4, "fp16");
  test::WriteFile(dir_.File("fp16.jsonl"), fp16 + "\n");
  ExpectOneLineError(Hwnas({"hw", "measure", "--nets", "fp16.jsonl", "--out", "m.csv"}),
                     {"fp16.jsonl", "net x", "layer 0", "fp16", "no kernel"});
  EXPECT_FALSE(std::filesystem::exists(dir_.File("m.csv")));
}

}  // namespace
}  // namespace hwnas
