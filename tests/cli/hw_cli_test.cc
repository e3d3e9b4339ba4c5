// `hwnas hw predict` and `hwnas hw validate` end to end: the real binary on the shipped devices
// and data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <utility>

#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::SplitFields;
using test::SplitLines;

// Latencies are printed with 5 significant digits: a sum of n printed steps is within
// n x half a unit of the 5th digit of the printed total.
constexpr double kPrintedDigits = 5e-5;
// One of the figures: the calibrated Edge TPU ranks NAS-Bench-201 like its measurements.
constexpr double kEdgeTpuKendall = 0.9;
constexpr size_t kH100Nets = 34;

class HwCliTest : public test::CliFixture {
 protected:
  std::string Nets() const { return SourcePath("data/h100/nets.jsonl"); }

  // net -> latency_ms of `hw predict --format csv` (without --breakdown).
  std::map<std::string, double> Predict(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"hw", "predict", "--device", "h100", "--nets", Nets(),
                                     "--format", "csv"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = Hwnas(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, double> latency;
    const auto lines = SplitLines(r.out);
    for (size_t i = 1; i < lines.size(); ++i) {
      const auto fields = SplitFields(lines[i]);
      latency[fields[0]] = std::stod(fields[1]);
    }
    return latency;
  }
};

TEST_F(HwCliTest, PredictHasOneRowPerNet) {
  const auto r = Hwnas({"hw", "predict", "--device", "h100", "--nets", Nets(), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 1 + kH100Nets) << r.out;
  EXPECT_EQ(lines[0], "net,latency_ms,status");
  const auto ids = SplitLines(test::ReadFile(Nets()));
  ASSERT_EQ(ids.size(), kH100Nets);
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto fields = SplitFields(lines[i]);
    ASSERT_EQ(fields.size(), 3u) << lines[i];
    // In the file's order.
    EXPECT_NE(ids[i - 1].find("\"net\": \"" + fields[0] + "\""), std::string::npos) << fields[0];
    EXPECT_GT(std::stod(fields[1]), 0.0) << lines[i];
    EXPECT_EQ(fields[2], "ok");
  }
}

TEST_F(HwCliTest, BreakdownStepsSumToTheNetsTotal) {
  const auto r = Hwnas({"hw", "predict", "--device", "h100", "--nets", Nets(), "--format", "csv",
                        "--breakdown"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = SplitLines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "net,step,layers,op,precision,mmacs,kbytes,bound,latency_ms,status");
  struct Sum {
    double steps = 0;
    int count = 0;
    double total = -1;
  };
  std::map<std::string, Sum> sums;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto fields = SplitFields(lines[i]);
    ASSERT_EQ(fields.size(), 10u) << lines[i];
    Sum& sum = sums[fields[0]];
    if (fields[2] == "all") {
      EXPECT_EQ(sum.total, -1) << "two totals for " << fields[0];
      sum.total = std::stod(fields[8]);
    } else {
      EXPECT_EQ(fields[1], std::to_string(sum.count)) << lines[i];
      sum.steps += std::stod(fields[8]);
      ++sum.count;
    }
  }
  ASSERT_EQ(sums.size(), kH100Nets);
  for (const auto& [net, sum] : sums) {
    ASSERT_GT(sum.total, 0) << net;
    EXPECT_GT(sum.count, 1) << net;
    EXPECT_NEAR(sum.steps, sum.total, kPrintedDigits * (sum.steps + sum.total)) << net;
  }
}

TEST_F(HwCliTest, Fp16IsFasterThanFp32ForTheLargestImageNetNetAtBatch16) {
  // The largest 224x224 network by parameters, from the measurements' params column.
  const auto rows = SplitLines(test::ReadFile(SourcePath("data/h100/nets.csv")));
  std::string largest;
  long params = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto fields = SplitFields(rows[i]);
    if (fields[1] == "3x224x224" && std::stol(fields[9]) > params) {
      params = std::stol(fields[9]);
      largest = fields[0];
    }
  }
  ASSERT_FALSE(largest.empty());
  const auto fp32 = Predict({"--batch", "16", "--dtype", "fp32"});
  const auto fp16 = Predict({"--batch", "16", "--dtype", "fp16"});
  ASSERT_TRUE(fp32.count(largest) && fp16.count(largest)) << largest;
  EXPECT_LT(fp16.at(largest), fp32.at(largest)) << largest;
  // And batch 16 is no faster than batch 1.
  const auto one = Predict({"--dtype", "fp16"});
  EXPECT_GE(fp16.at(largest), one.at(largest)) << largest;
}

TEST_F(HwCliTest, ADeviceThatCannotCostExitsNonZero) {
  // A table device holds NAS-Bench-201 architectures, not these networks.
  const auto table = Hwnas({"hw", "predict", "--device", "edgetpu", "--nets", Nets(), "--format",
                            "csv"});
  EXPECT_EQ(table.exit_code, 1) << table.err;
  const auto lines = SplitLines(table.out);
  ASSERT_EQ(lines.size(), 1 + kH100Nets);
  EXPECT_NE(lines[1].find(",edgetpu: architecture not in the measurement table"),
            std::string::npos)
      << lines[1];
  // The Jetson TX2 has no bf16 arithmetic.
  const auto bf16 = Hwnas({"hw", "predict", "--device", "edgegpu-calibrated", "--nets", Nets(),
                           "--dtype", "bf16", "--format", "csv"});
  EXPECT_EQ(bf16.exit_code, 1);
  EXPECT_NE(bf16.out.find("no bf16 arithmetic on this device; it runs: fp16, fp32"),
            std::string::npos)
      << bf16.out;
  // The same networks in fp16 it costs.
  const auto fp16 = Hwnas({"hw", "predict", "--device", "edgegpu-calibrated", "--nets", Nets(),
                           "--dtype", "fp16", "--format", "csv"});
  EXPECT_EQ(fp16.exit_code, 0) << fp16.out;
}

TEST_F(HwCliTest, CalibratedEdgeTpuRanksNb201LikeItsMeasurements) {
  const auto r = Hwnas({"hw", "validate", "--device", "edgetpu-calibrated", "--against", "edgetpu",
                        "--space", SourcePath("configs/spaces/nb201.yaml"), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = SplitLines(r.out);
  ASSERT_GE(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0], "rows,count,within_10pct,mape_pct,spearman,kendall");
  const auto all = SplitFields(lines[1]);
  ASSERT_EQ(all[0], "all");
  // Every architecture the table has a latency for, but the 100 the device was fitted on.
  EXPECT_GT(std::stoi(all[1]), 8000);
  EXPECT_GE(std::stod(all[5]), kEdgeTpuKendall) << lines[1];
  EXPECT_EQ(r.err, "edgetpu-calibrated: left out 100 measurements the device was fitted on\n");
}

// A search candidate is timed as this host deploys its policy: 8 bits or fewer run in int8.
TEST_F(HwCliTest, MeasureTimesACandidateAsTheHostDeploysIt) {
  const std::string tiny =
      "stem.width=4;stem=P;s1.depth=1;s1.width=4;s1.b1.k=3;s1.b1.e=1;s1.b1.dw=P;s1.b1.proj=P;"
      "s2.depth=1;s2.width=8;s2.b1.k=3;s2.b1.e=1;s2.b1.dw=P;s2.b1.proj=P;s3.depth=1;s3.width=16;"
      "s3.b1.k=3;s3.b1.e=1;s3.b1.dw=P;s3.b1.proj=P;fc=P";
  for (const auto& [policy, dtype] : {std::pair{"w32a32", "fp32"}, {"w4a4", "int8"}}) {
    std::string candidate = tiny;
    for (size_t at; (at = candidate.find('P')) != std::string::npos;) {
      candidate.replace(at, 1, policy);
    }
    const std::string out = dir_.File("fixture_measured.csv");
    const auto r = Hwnas({"hw", "measure", "--space", SourcePath("configs/spaces/fmnist.yaml"),
                          "--candidate", candidate, "--reps", "3", "--warmups", "1", "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto lines = SplitLines(test::ReadFile(out));
    ASSERT_EQ(lines.size(), 2u);  // the header and the network's row
    const auto header = SplitFields(lines[0]);
    const auto row = SplitFields(lines[1]);
    auto field = [&](const std::string& name) {
      return row.at(std::find(header.begin(), header.end(), name) - header.begin());
    };
    EXPECT_EQ(field("net"), candidate);
    EXPECT_EQ(field("dtype"), dtype);
    EXPECT_GT(std::stod(field("min_us")), 0);
    EXPECT_LE(std::stod(field("min_us")), std::stod(field("median_us")));
    // Its row validates a device with --space naming the candidate's space, and not without.
    const auto validated = Hwnas({"hw", "validate", "--device", "host-cpu", "--measurements", out,
                                  "--space", SourcePath("configs/spaces/fmnist.yaml"),
                                  "--format", "csv"});
    ASSERT_EQ(validated.exit_code, 0) << validated.err;
    EXPECT_EQ(SplitFields(SplitLines(validated.out).at(1)).at(1), "1");  // all: 1 row
    ExpectOneLineError(Hwnas({"hw", "validate", "--device", "host-cpu", "--measurements", out}),
                       {"network '" + candidate.substr(0, 20)});
  }
  ExpectOneLineError(Hwnas({"hw", "validate", "--device", "host-cpu", "--measurements",
                            SourcePath("data/host-cpu/validation_measurements.csv"), "--space",
                            SourcePath("configs/spaces/fmnist.yaml")}),
                     {"validation_measurements.csv:2: net 'v0' is in no --nets file and is no "
                      "candidate of"});
}

TEST_F(HwCliTest, BadFlagsAreOneLineErrors) {
  const std::vector<std::string> predict = {"hw", "predict", "--device", "h100", "--nets", Nets()};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = predict;
    args.insert(args.end(), extra.begin(), extra.end());
    return Hwnas(args);
  };
  ExpectOneLineError(with({"--dtype", "fp12"}),
                     {"hwnas hw predict: --dtype: unknown value 'fp12'", "fp32, tf32, fp16"});
  ExpectOneLineError(with({"--batch", "0"}), {"hwnas hw predict: --batch: value 0 out of range"});
  ExpectOneLineError(with({"--format", "xml"}),
                     {"--format: unknown value 'xml'", "valid: table, csv, json"});
  ExpectOneLineError(with({"--mode", "jit"}), {"--mode: unknown value 'jit'", "graph, eager"});
  ExpectOneLineError(with({"--bogus"}), {"unknown argument '--bogus'", "--device, --nets"});
  ExpectOneLineError(Hwnas({"hw", "predict", "--nets", Nets()}), {"--device is required"});
  ExpectOneLineError(Hwnas({"hw", "predict", "--device", "h100"}),
                     {"give one of --nets FILE, --space FILE --candidate STR, or --db FILE"});
  ExpectOneLineError(Hwnas({"hw", "measure", "--out", dir_.File("fixture_out.csv")}),
                     {"hwnas hw measure: give one of --nets FILE"});
  // Two sources, or a flag of a source not given, would each silently lose one.
  ExpectOneLineError(Hwnas({"hw", "measure", "--nets", Nets(), "--db", dir_.File("fixture.db"),
                            "--out", dir_.File("fixture_out.csv")}),
                     {"hwnas hw measure: give one of --nets FILE"});
  ExpectOneLineError(Hwnas({"hw", "measure", "--nets", Nets(), "--run", "2", "--out",
                            dir_.File("fixture_out.csv")}),
                     {"--run goes with --db"});
  ExpectOneLineError(Hwnas({"hw", "measure", "--nets", Nets(), "--out",
                            dir_.File("fixture_missing_folder/out.csv")}),
                     {"--out", "no such folder"});
  EXPECT_FALSE(std::filesystem::exists(dir_.File("fixture_out.csv")));
  ExpectOneLineError(Hwnas({"hw", "predict", "--device", "tpu9000", "--nets", Nets()}),
                     {"--device: unknown device 'tpu9000'; valid: bitfusion, edgegpu,",
                      "(or a path to a device .yaml)"});
  ExpectOneLineError(Hwnas({"hw", "predict", "--device", "h100", "--nets",
                            dir_.File("fixture_missing.jsonl")}),
                     {"fixture_missing.jsonl: cannot open file"});
  ExpectOneLineError(Hwnas({"hw", "validate", "--device", "edgetpu-calibrated", "--against",
                            "h100", "--space", SourcePath("configs/spaces/nb201.yaml")}),
                     {"--against h100: expected a device of kind table", "got calibrated"});
  ExpectOneLineError(Hwnas({"hw", "calibrate", "--device", "datasheet/h100",
                            "--measurements", SourcePath("data/h100/conv.csv")}),
                     {"hwnas hw calibrate: --out is required"});
  ExpectOneLineError(Hwnas({"hw", "calibrate", "--device", SourcePath("configs/devices/datasheet/h100.yaml"),
                            "--measurements", SourcePath("data/h100/conv.csv"), "--holdout-nets",
                            "1.5", "--out", dir_.File("fixture_out.yaml")}),
                     {"--holdout-nets: give a share in [0, 1)"});
  ExpectOneLineError(Hwnas({"hw", "calibrate", "--device", "edgetpu", "--measurements",
                            SourcePath("data/h100/conv.csv"), "--out",
                            dir_.File("fixture_out.yaml")}),
                     {"edgetpu.yaml:", "kind: calibrate fits a roofline"});
  EXPECT_FALSE(std::filesystem::exists(dir_.File("fixture_out.yaml")));
}

}  // namespace
}  // namespace hwnas
