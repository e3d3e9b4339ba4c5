// Reading networks (nets.jsonl, one JSON object a line) and measurement files: the layers and
// compression a line gives, every refusal at file:line, the four H100 table formats of data/h100
// with their provenance, and our own format's round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/config_node.h"
#include "core/csv_table.h"
#include "core/errors.h"
#include "hwmodels/measurement.h"
#include "hwmodels/net_file.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

// A stem conv, a residual depthwise-separable block, pooling and a classifier.
const char* const kResidualNet =
    R"({"net": "r0", "input": [3, 32, 32], "classes": 10, "layers": [)"
    R"({"op": "conv", "cin": 3, "cout": 16, "k": 3, "stride": 2, "groups": 1, "act": "relu"}, )"
    R"({"op": "block", "residual": true, "layers": [)"
    R"({"op": "conv", "cin": 16, "cout": 16, "k": 5, "stride": 1, "groups": 16, "act": "relu"}, )"
    R"({"op": "conv", "cin": 16, "cout": 16, "k": 1, "stride": 1, "act": "none"}]}, )"
    R"({"op": "gap"}, {"op": "linear", "cin": 16, "cout": 10, "act": "relu"}]})";

// A one-conv network whose conv carries `extra` keys.
std::string ConvNet(const std::string& id, const std::string& extra) {
  return R"({"net": ")" + id +
         R"(", "input": [8, 16, 16], "classes": 10, "layers": [{"op": "conv", "cin": 8, )"
         R"("cout": 8, "k": 3, "stride": 1)" +
         extra + "}]}";
}

class NetFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) const { return dir_.Write("fixture_nets.jsonl", text); }
  std::vector<NetworkSpec> Load(const std::string& text) const { return LoadNetsFile(Write(text)); }
  LayerPolicy ConvPolicy(const std::string& extra) const {
    return Load(ConvNet("c", extra)).at(0).layers.at(0).policy;
  }

  TempDir dir_;
};

TEST_F(NetFileTest, ResidualBlockEndsInAnAddNamingItsFirstLayer) {
  const auto nets = Load(std::string(kResidualNet) + "\n");
  ASSERT_EQ(nets.size(), 1u);
  const NetworkSpec& net = nets[0];
  EXPECT_EQ(net.key, "r0");
  EXPECT_EQ(net.in_channels, 3);
  EXPECT_EQ(net.in_size, 32);
  EXPECT_EQ(net.classes, 10);
  // conv bn relu | dwconv bn relu conv bn add | gap | linear relu
  const std::vector<LayerOp> ops = {
      LayerOp::kConv, LayerOp::kBatchNorm, LayerOp::kRelu,          LayerOp::kConv,
      LayerOp::kBatchNorm, LayerOp::kRelu, LayerOp::kConv,          LayerOp::kBatchNorm,
      LayerOp::kAdd,  LayerOp::kGlobalAvgPool, LayerOp::kLinear,    LayerOp::kRelu};
  ASSERT_EQ(net.layers.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(net.layers[i].op, ops[i]) << i;
  const Layer& stem = net.layers[0];
  EXPECT_EQ(stem.padding, 1);
  EXPECT_EQ(stem.stride, 2);
  EXPECT_EQ(stem.HOut(), 16);
  const Layer& depthwise = net.layers[3];
  EXPECT_EQ(depthwise.groups, 16);
  EXPECT_EQ(depthwise.padding, 2);
  EXPECT_EQ(depthwise.h_in, 16);
  const Layer& add = net.layers[8];
  EXPECT_EQ(add.residual_from, 3);
  EXPECT_EQ(add.cin, 16);
  EXPECT_EQ(add.cout, 16);
  EXPECT_EQ(add.h_in, 16);
  EXPECT_EQ(net.layers[9].kernel, 16);  // the pool spans its input
  EXPECT_EQ(net.layers[10].cin, 16);
  EXPECT_EQ(net.layers[10].cout, 10);
  EXPECT_TRUE(net.IsUncompressed());
  // A block without residual has no add.
  std::string plain = kResidualNet;
  plain.replace(plain.find("\"residual\": true"), 16, "\"residual\": false");
  const auto no_add = Load(plain);
  EXPECT_EQ(no_add[0].layers.size(), ops.size() - 1);
  EXPECT_EQ(std::count_if(no_add[0].layers.begin(), no_add[0].layers.end(),
                          [](const Layer& l) { return l.op == LayerOp::kAdd; }),
            0);
}

TEST_F(NetFileTest, DtypesSetBitsOrTheLayersFloatFormat) {
  const LayerPolicy int8 = ConvPolicy(R"(, "dtype": "int8")");
  EXPECT_EQ(int8.w_bits, 8);
  EXPECT_EQ(int8.a_bits, 8);
  EXPECT_EQ(int8.float_format, FloatFormat::kRunDefault);
  const LayerPolicy bf16 = ConvPolicy(R"(, "dtype": "bf16")");
  EXPECT_EQ(bf16.w_bits, 32);
  EXPECT_EQ(bf16.a_bits, 32);
  EXPECT_EQ(bf16.float_format, FloatFormat::kBf16);
  EXPECT_EQ(ConvPolicy(R"(, "dtype": "fp16")").float_format, FloatFormat::kFp16);
  const LayerPolicy w4 = ConvPolicy(R"(, "dtype": "w4a16")");
  EXPECT_EQ(w4.w_bits, 4);
  EXPECT_EQ(w4.a_bits, 32);
  // Explicit bits override the dtype's.
  const LayerPolicy mixed = ConvPolicy(R"(, "dtype": "int8", "a_bits": 16)");
  EXPECT_EQ(mixed.w_bits, 8);
  EXPECT_EQ(mixed.a_bits, 16);
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { ConvPolicy(R"(, "dtype": "int7")"); },
                                      {"fixture_nets.jsonl:1: ", "dtype", "unknown dtype 'int7'",
                                       "fp32", "int8", "sp24_fp16"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { ConvPolicy(R"(, "dtype": "mixed")"); },
                                      {"unknown dtype 'mixed'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { ConvPolicy(R"(, "w_bits": 0)"); },
                                      {"fixture_nets.jsonl:1: ", "w_bits", "out of range"}));
}

TEST_F(NetFileTest, PatternsImplyTheirSparsity) {
  const LayerPolicy two_of_four = ConvPolicy(R"(, "pattern": "2:4")");
  EXPECT_EQ(two_of_four.pattern, SparsityPattern::kNofM);
  EXPECT_EQ(two_of_four.n_of_m_n, 2);
  EXPECT_EQ(two_of_four.n_of_m_m, 4);
  EXPECT_EQ(two_of_four.sparsity, 0.5);
  EXPECT_EQ(ConvPolicy(R"(, "pattern": "2:4", "sparsity": 0.5)").sparsity, 0.5);
  const LayerPolicy one_of_four = ConvPolicy(R"(, "pattern": "1:4")");
  EXPECT_EQ(one_of_four.n_of_m_n, 1);
  EXPECT_EQ(one_of_four.sparsity, 0.75);
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { ConvPolicy(R"(, "pattern": "2:4", "sparsity": 0.3)"); },
      {"fixture_nets.jsonl:1: ", "sparsity", "pattern 2:4 means sparsity 0.5"}));
  const LayerPolicy channel = ConvPolicy(R"(, "pattern": "channel", "sparsity": 0.25)");
  EXPECT_EQ(channel.pattern, SparsityPattern::kChannel);
  EXPECT_EQ(channel.sparsity, 0.25);
  EXPECT_EQ(ConvPolicy(R"(, "pattern": "unstructured", "sparsity": 0.9)").pattern,
            SparsityPattern::kUnstructured);
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { ConvPolicy(R"(, "sparsity": 0.5)"); },
                                      {"fixture_nets.jsonl:1: ", "sparsity",
                                       "give a pattern with the sparsity"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { ConvPolicy(R"(, "pattern": "3:4")"); },
                                      {"pattern", "unknown value '3:4'", "unstructured, 2:4, 1:4, channel"}));
  EXPECT_EQ(ConvPolicy(R"(, "rank": 0.25)").rank_ratio, 0.25);
}

TEST_F(NetFileTest, AResidualBlockMustKeepChannelsAndSize) {
  std::string widening = kResidualNet;
  widening.replace(widening.find(R"("cout": 16, "k": 1)"), 10, R"("cout": 24)");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Load("\n" + widening + "\n"); },
      {"fixture_nets.jsonl:2: ", "residual", "a residual block must keep the channels and size"}));
  std::string striding = kResidualNet;
  striding.replace(striding.find(R"("k": 5, "stride": 1)"), 19, R"("k": 5, "stride": 2)");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Load(striding); }, {"fixture_nets.jsonl:1: ", "a residual block must keep"}));
}

TEST_F(NetFileTest, UnknownKeysAndBadShapesAreRefusedAtTheirLine) {
  const std::string good = ConvNet("a", "");
  // An unknown key in a conv, three lines down (a blank line counts).
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Load(good + "\n" + ConvNet("b", "") + "\n\n" + ConvNet("c", R"(, "kernel": 3)")); },
      {"fixture_nets.jsonl:4: ", "unknown key 'kernel'", "valid keys: op, cin, cout, k"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        Load(R"({"net": "x", "inputs": [3, 8, 8], "classes": 10, "layers": []})");
      },
      {"fixture_nets.jsonl:1: ", "unknown key 'inputs'", "net, input, classes, layers"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        Load(R"({"net": "x", "input": [3, 8, 8], "classes": 10, "layers": [{"op": "pool"}]})");
      },
      {"fixture_nets.jsonl:1: ", "op", "unknown value 'pool'", "conv, block, gap, linear"}));
  // cin must follow the previous layer's cout.
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        Load(R"({"net": "x", "input": [3, 8, 8], "classes": 10, "layers": [)"
             R"({"op": "conv", "cin": 4, "cout": 8, "k": 3, "stride": 1}]})");
      },
      {"fixture_nets.jsonl:1: ", "cin", "the input has 3 channels, not 4"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Load(ConvNet("g", R"(, "groups": 3)")); },
      {"fixture_nets.jsonl:1: ", "groups", "must divide"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        Load(R"({"net": "x", "input": [3, 8, 8], "classes": 10, "layers": [)"
             R"({"op": "linear", "cin": 3, "cout": 8}]})");
      },
      {"fixture_nets.jsonl:1: ", "linear needs a 1x1 input"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Load(R"({"net": "x", "input": [3, 8, 4], "classes": 10, "layers": [{"op": "gap"}]})"); },
      {"fixture_nets.jsonl:1: ", "height and width must be equal"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { Load(R"({"net": "x", "input": [3, 8, 8], "classes": 10, "layers": []})"); },
      {"fixture_nets.jsonl:1: ", "a network needs at least one layer"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Load(good + "\n" + good); },
                                      {"fixture_nets.jsonl:2: ", "duplicate net id 'a'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Load(good + "\n{\"net\": \"b\", \"input\": [3, 8"); },
                                      {"fixture_nets.jsonl:2"}));
  EXPECT_TRUE(ThrowsWith<IoError>([&] { Load("\n  \n"); }, {"no networks in the file"}));
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadNetsFile(dir_.File("fixture_missing.jsonl")); },
                                  {"fixture_missing.jsonl", "cannot open file"}));
}

TEST_F(NetFileTest, TheH100NetsLoad) {
  const auto nets = LoadNetsFile(SourcePath("data/h100/nets.jsonl"));
  ASSERT_EQ(nets.size(), 34u);
  int small = 0, large = 0;
  for (const auto& net : nets) {
    small += net.in_size == 28 && net.in_channels == 1 && net.classes == 10;
    large += net.in_size == 224 && net.in_channels == 3 && net.classes == 1000;
    EXPECT_EQ(net.layers.back().op, LayerOp::kLinear) << net.key;
    EXPECT_EQ(net.layers.back().cout, net.classes) << net.key;
    EXPECT_TRUE(net.IsUncompressed()) << net.key;
  }
  EXPECT_EQ(small, 17);
  EXPECT_EQ(large, 17);
  EXPECT_EQ(nets[0].key, "a0");
}

// Rows of a data/h100 table the loader keeps: those with status ok (every row when the table
// has no status column).
size_t OkRows(const std::string& path) {
  const CsvTable table = CsvTable::Load(path);
  const auto& header = table.header();
  if (std::find(header.begin(), header.end(), "status") == header.end()) return table.rows();
  size_t ok = 0;
  for (size_t row = 0; row < table.rows(); ++row) ok += table.Cell(row, table.Column("status")) == "ok";
  return ok;
}

TEST(Measurements, LoadsTheFourH100FormatsSkippingRowsThatDidNotRun) {
  struct Format {
    const char* file;
    std::set<std::string> kinds;
    size_t skipped;  // rows with status != ok, counted from the file
  };
  const Format formats[] = {{"data/h100/conv.csv", {"conv"}, 0},
                            {"data/h100/gemm.csv", {"linear"}, 13},
                            {"data/h100/net_layers.csv", {"conv", "linear", "add", "gap"}, 0},
                            {"data/h100/nets.csv", {"net"}, 0}};
  for (const auto& format : formats) {
    const std::string path = SourcePath(format.file);
    const auto rows = LoadMeasurements(path);
    const CsvTable table = CsvTable::Load(path);
    EXPECT_EQ(rows.size(), OkRows(path)) << format.file;
    EXPECT_EQ(rows.size() + format.skipped, table.rows()) << format.file;
    std::set<std::string> kinds;
    for (const auto& row : rows) {
      kinds.insert(row.kind);
      // Provenance: which device, from which file and line, by which tool, when.
      EXPECT_EQ(row.device, "h100");
      EXPECT_EQ(row.source, row.origin);
      EXPECT_EQ(row.origin.rfind(path + ":", 0), 0u) << row.origin;
      EXPECT_NE(row.tool.find("PyTorch"), std::string::npos);
      EXPECT_EQ(row.measured_at, "2026-11-25");
      EXPECT_GT(row.median_us, 0);
      EXPECT_LE(row.min_us, row.median_us);
      EXPECT_GE(row.max_us, row.median_us);
      EXPECT_GE(row.reps, 1);
    }
    EXPECT_EQ(kinds, format.kinds) << format.file;
  }
  // Row by row, against the files' first lines.
  const auto gemm = LoadMeasurements(SourcePath("data/h100/gemm.csv"));
  // 16,4096,4096,fp16,8.720,8.662,8.995,1000,graph,61.57,ok
  EXPECT_EQ(gemm[0].batch, 16);
  EXPECT_EQ(gemm[0].shape.cin, 4096);
  EXPECT_EQ(gemm[0].shape.cout, 4096);
  EXPECT_EQ(gemm[0].dtype, "fp16");
  EXPECT_EQ(gemm[0].median_us, 8.720);
  EXPECT_EQ(gemm[0].origin, SourcePath("data/h100/gemm.csv") + ":2");
  const auto conv = LoadMeasurements(SourcePath("data/h100/conv.csv"));
  // 1,512,512,112,5,2,512,bf16,18.928,18.838,19.469,740,graph,0.08028,ok
  EXPECT_EQ(conv[0].shape.cin, 512);
  EXPECT_EQ(conv[0].shape.h_in, 112);
  EXPECT_EQ(conv[0].shape.kernel, 5);
  EXPECT_EQ(conv[0].shape.stride, 2);
  EXPECT_EQ(conv[0].shape.groups, 512);
  EXPECT_EQ(conv[0].shape.padding, 2);
  EXPECT_FALSE(conv[0].batch_norm);
  EXPECT_EQ(conv[0].dtype, "bf16");
  const auto layers = LoadMeasurements(SourcePath("data/h100/net_layers.csv"));
  // a0,0,conv,1,16,3,1,1,28,relu,1,fp32,10.861,10.832,11.130,870
  EXPECT_EQ(layers[0].net, "a0");
  EXPECT_EQ(layers[0].layer, "0");
  EXPECT_TRUE(layers[0].batch_norm);
  EXPECT_TRUE(layers[0].relu);
  const auto nets = LoadMeasurements(SourcePath("data/h100/nets.csv"));
  // a0,1x28x28,1,fp32,eager,1982.240,...
  EXPECT_EQ(nets[0].net, "a0");
  EXPECT_EQ(nets[0].mode, "eager");
  EXPECT_EQ(nets[1].mode, "graph");
  EXPECT_EQ(nets[0].median_us, 1982.240);
}

// Times are written with 10 significant digits.
constexpr double kTenDigits = 1e-9;

Measurement Row(const std::string& kind) {
  Measurement m;
  m.kind = kind;
  m.batch = 4;
  m.dtype = "fp16";
  m.mode = "graph";
  m.median_us = 12.5;
  m.min_us = 12.25;
  m.max_us = 13.0625;
  m.reps = 100;
  m.warmups = 3;
  m.device = "fixture-device";
  m.source = "fixture machine";
  m.tool = "hwnas hw measure 0.1.0";
  m.measured_at = "2026-11-26T10:00:00Z";
  return m;
}

TEST(Measurements, OwnFormatRoundTrips) {
  TempDir dir;
  std::vector<Measurement> rows;
  Measurement conv = Row("conv");
  conv.net = "n1";
  conv.layer = "3";
  conv.shape = {LayerOp::kConv, 32, 64, 5, 2, 1, 2, 56, {}};
  conv.relu = true;
  conv.batch_norm = true;
  rows.push_back(conv);
  Measurement depthwise = Row("conv");
  depthwise.shape = {LayerOp::kConv, 32, 32, 3, 1, 32, 1, 28, {}};
  depthwise.dtype = "int8";
  depthwise.mode = "eager";
  rows.push_back(depthwise);
  Measurement linear = Row("linear");
  linear.shape = {LayerOp::kLinear, 1024, 1000, 1, 1, 1, 0, 1, {}};
  linear.median_us = 1.0 / 3;  // written with 10 significant digits
  linear.min_us = 0.3;
  linear.max_us = 0.4;
  rows.push_back(linear);
  Measurement add = Row("add");
  add.shape = {LayerOp::kAdd, 16, 16, 1, 1, 1, 0, 14, {}};
  rows.push_back(add);
  Measurement gap = Row("gap");
  gap.shape = {LayerOp::kGlobalAvgPool, 128, 128, 1, 1, 1, 0, 7, {}};
  rows.push_back(gap);
  Measurement net = Row("net");
  net.net = "n1";
  net.dtype = "sp24_fp16";
  rows.push_back(net);

  const std::string path = dir.File("fixture_rows.csv");
  SaveMeasurements(path, rows);
  const auto lines = test::SplitLines(test::ReadFile(path));
  ASSERT_EQ(lines.size(), rows.size() + 1);
  EXPECT_EQ(lines[0], JoinNames(MeasurementColumns(), ","));
  const auto back = LoadMeasurements(path);
  ASSERT_EQ(back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Measurement& a = rows[i];
    const Measurement& b = back[i];
    EXPECT_EQ(b.origin, path + ":" + std::to_string(i + 2));
    EXPECT_EQ(b.net, a.net) << i;
    EXPECT_EQ(b.layer, a.layer) << i;
    EXPECT_EQ(b.kind, a.kind) << i;
    EXPECT_EQ(b.relu, a.relu) << i;
    EXPECT_EQ(b.batch_norm, a.batch_norm) << i;
    EXPECT_EQ(b.batch, a.batch) << i;
    EXPECT_EQ(b.dtype, a.dtype) << i;
    EXPECT_EQ(b.mode, a.mode) << i;
    EXPECT_NEAR(b.median_us, a.median_us, kTenDigits * a.median_us) << i;
    EXPECT_EQ(b.min_us, a.min_us) << i;
    EXPECT_EQ(b.max_us, a.max_us) << i;
    EXPECT_EQ(b.reps, a.reps) << i;
    EXPECT_EQ(b.warmups, a.warmups) << i;
    EXPECT_EQ(b.device, a.device) << i;
    EXPECT_EQ(b.source, a.source) << i;
    EXPECT_EQ(b.tool, a.tool) << i;
    EXPECT_EQ(b.measured_at, a.measured_at) << i;
    if (!a.IsNetwork()) {
      EXPECT_EQ(b.shape.op, a.shape.op) << i;
      EXPECT_EQ(b.shape.cin, a.shape.cin) << i;
      EXPECT_EQ(b.shape.cout, a.shape.cout) << i;
      if (a.kind != "linear") {
        EXPECT_EQ(b.shape.h_in, a.shape.h_in) << i;
      }
    }
    if (a.kind == "conv") {
      EXPECT_EQ(b.shape.kernel, a.shape.kernel) << i;
      EXPECT_EQ(b.shape.stride, a.shape.stride) << i;
      EXPECT_EQ(b.shape.groups, a.shape.groups) << i;
      EXPECT_EQ(b.shape.padding, a.shape.padding) << i;
    }
  }
  // Saved again, the file is the same byte for byte.
  const std::string again = dir.File("fixture_rows_again.csv");
  SaveMeasurements(again, back);
  EXPECT_EQ(test::ReadFile(again), test::ReadFile(path));
  // A text with a comma would break the file: refused, and nothing is written.
  rows[0].tool = "a, b";
  const std::string refused = dir.File("fixture_refused.csv");
  EXPECT_TRUE(ThrowsWith<IoError>([&] { SaveMeasurements(refused, rows); },
                                  {"holds a comma or newline", "'a, b'"}));
  EXPECT_FALSE(std::filesystem::exists(refused));
}

class MeasurementFileTest : public ::testing::Test {
 protected:
  // A valid own-format file of two conv rows.
  void SetUp() override {
    std::vector<Measurement> rows(2, Row("conv"));
    rows[0].shape = {LayerOp::kConv, 8, 8, 3, 1, 1, 1, 16, {}};
    rows[1].shape = {LayerOp::kConv, 8, 16, 1, 1, 1, 0, 16, {}};
    path_ = dir_.File("fixture_good.csv");
    SaveMeasurements(path_, rows);
    lines_ = test::SplitLines(test::ReadFile(path_));
  }
  std::string WriteLines(const std::vector<std::string>& lines) const {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return dir_.Write("fixture_bad.csv", text);
  }
  // The good file with one cell replaced.
  std::string WithCell(size_t line, const std::string& column, const std::string& value) const {
    const auto& columns = MeasurementColumns();
    const size_t index = std::find(columns.begin(), columns.end(), column) - columns.begin();
    std::vector<std::string> lines = lines_;
    auto fields = test::SplitFields(lines[line]);
    fields.at(index) = value;
    lines[line] = JoinNames(fields, ",");
    return WriteLines(lines);
  }

  TempDir dir_;
  std::string path_;
  std::vector<std::string> lines_;
};

TEST_F(MeasurementFileTest, UnknownColumnIsRefused) {
  ASSERT_EQ(LoadMeasurements(path_).size(), 2u);
  std::vector<std::string> lines = lines_;
  lines[0] += ",temperature";
  for (size_t i = 1; i < lines.size(); ++i) lines[i] += ",41";
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WriteLines(lines)); },
                                      {"fixture_bad.csv:1: unknown column 'temperature'",
                                       "valid: net, layer, kind"}));
  // A missing one too.
  lines = lines_;
  for (auto& line : lines) {  // drops measured_at, the column before from_dtype
    auto fields = test::SplitFields(line);
    fields.erase(fields.end() - 2);
    line = JoinNames(fields, ",");
  }
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadMeasurements(WriteLines(lines)); },
                                  {"fixture_bad.csv", "no column 'measured_at'"}));
}

// A conversion between two widths is a row of its own; files from before convert rows, without
// the from_dtype column, still load.
TEST_F(MeasurementFileTest, ConvertRowsRoundTripAndOlderFilesLoad) {
  Measurement convert = Row("convert");
  convert.shape.cin = convert.shape.cout = 24;
  convert.shape.h_in = 14;
  convert.from_dtype = "fp32";
  convert.dtype = "int8";
  const std::string path = dir_.File("fixture_convert.csv");
  SaveMeasurements(path, {convert, Row("net")});
  const auto back = LoadMeasurements(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(back[0].IsConversion());
  EXPECT_EQ(back[0].from_dtype, "fp32");
  EXPECT_EQ(back[0].dtype, "int8");
  EXPECT_EQ(back[0].shape.cin, 24);
  EXPECT_EQ(back[0].shape.h_in, 14);
  EXPECT_EQ(back[1].from_dtype, "");

  std::vector<std::string> older = lines_;
  for (auto& line : older) line = line.substr(0, line.rfind(','));  // no from_dtype column
  EXPECT_EQ(LoadMeasurements(WriteLines(older)).size(), 2u);

  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadMeasurements(WithCell(1, "from_dtype", "int8")); },
      {"fixture_bad.csv:2: column 'from_dtype'", "only a convert row"}));
  std::vector<std::string> lines = test::SplitLines(test::ReadFile(path));
  auto fields = test::SplitFields(lines[1]);
  fields.back() = "fp12";
  lines[1] = JoinNames(fields, ",");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WriteLines(lines)); },
                                      {"fixture_bad.csv:2: column 'from_dtype'",
                                       "unknown dtype 'fp12'"}));
}

TEST_F(MeasurementFileTest, TruncatedFileIsRefusedNamingTheLine) {
  std::string text = test::ReadFile(path_);
  text.resize(text.size() - 40);  // the last row loses its provenance columns
  const std::string truncated = dir_.Write("fixture_truncated.csv", text);
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadMeasurements(truncated); },
                                  {"fixture_truncated.csv:3: expected 24 fields, found",
                                   "truncated"}));
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadMeasurements(dir_.Write("fixture_empty.csv", "")); },
                                  {"fixture_empty.csv:1: empty file"}));
}

TEST_F(MeasurementFileTest, BadValuesAreRefusedNamingLineAndColumn) {
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WithCell(2, "kind", "pool")); },
                                      {"fixture_bad.csv:3: column 'kind': unknown value 'pool'",
                                       "conv, linear, add, gap, convert, net"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WithCell(1, "dtype", "fp12")); },
                                      {"fixture_bad.csv:2: column 'dtype': unknown dtype 'fp12'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WithCell(1, "mode", "jit")); },
                                      {"fixture_bad.csv:2: column 'mode'", "graph, eager"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WithCell(1, "median_us", "0")); },
                                      {"fixture_bad.csv:2: column 'median_us'", "out of range"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WithCell(2, "groups", "3")); },
                                      {"fixture_bad.csv:3: column 'groups'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadMeasurements(WithCell(1, "cin", "")); },
                                      {"fixture_bad.csv:2: column 'cin': missing value"}));
  for (const char* column : {"device", "source", "tool", "measured_at"}) {
    EXPECT_TRUE(ThrowsWith<ConfigError>(
        [&] { LoadMeasurements(WithCell(2, column, "")); },
        {"fixture_bad.csv:3: column '" + std::string(column) + "': provenance column is empty"}));
  }
}

}  // namespace
}  // namespace hwnas
