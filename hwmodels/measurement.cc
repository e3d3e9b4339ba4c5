#include "hwmodels/measurement.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/config_node.h"
#include "core/csv_table.h"
#include "core/errors.h"
#include "hwmodels/dtype.h"

namespace hwnas {

namespace {

const std::vector<std::string> kModes = {"graph", "eager"};

// Reads one row's cells by column name, with errors at file:line.
class RowReader {
 public:
  RowReader(const CsvTable& table, size_t row) : table_(table), row_(row) {}

  bool HasColumn(const std::string& name) const {
    const auto& header = table_.header();
    return std::find(header.begin(), header.end(), name) != header.end();
  }
  std::string Text(const std::string& column) const {
    return table_.Cell(row_, table_.Column(column));
  }
  std::string Text(const std::string& column, const std::string& fallback) const {
    return HasColumn(column) ? Text(column) : fallback;
  }
  double Number(const std::string& column, double lo, double hi) const {
    const auto value = table_.Number(row_, table_.Column(column));
    if (!value) Fail(column, "missing value");
    if (!(*value >= lo && *value <= hi)) {
      Fail(column, "value " + Text(column) + " out of range [" + Format(lo) + ", " + Format(hi) +
                       "]");
    }
    return *value;
  }
  int Int(const std::string& column, int lo, int hi) const {
    const double value = Number(column, lo, hi);
    if (value != std::floor(value)) Fail(column, "not an integer: " + Text(column));
    return static_cast<int>(value);
  }
  std::string Choice(const std::string& column, const std::vector<std::string>& valid) const {
    const std::string value = Text(column);
    if (std::find(valid.begin(), valid.end(), value) == valid.end()) {
      Fail(column, "unknown value '" + value + "'; valid: " + JoinNames(valid));
    }
    return value;
  }
  [[noreturn]] void Fail(const std::string& column, const std::string& message) const {
    throw ConfigError(table_.Where(row_) + ": column '" + column + "': " + message);
  }
  std::string Where() const { return table_.Where(row_); }

 private:
  static std::string Format(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  }

  const CsvTable& table_;
  size_t row_;
};

void ReadTiming(const RowReader& r, Measurement& m) {
  m.median_us = r.Number("median_us", 1e-6, 1e12);
  m.min_us = r.Number("min_us", 0.0, m.median_us);
  m.max_us = r.Number("max_us", m.median_us, 1e12);
  m.reps = r.Int("reps", 1, 1 << 30);
}

void ReadShape(const RowReader& r, Measurement& m, const std::string& hw_column) {
  Layer& s = m.shape;
  s.cin = r.Int("cin", 1, 1 << 20);
  s.cout = r.Int("cout", 1, 1 << 20);
  if (m.kind == "conv") {
    s.op = LayerOp::kConv;
    s.kernel = r.Int("k", 1, 64);
    s.stride = r.Int("stride", 1, 64);
    s.groups = r.Int("groups", 1, s.cin);
    s.padding = s.kernel / 2;
    s.h_in = r.Int(hw_column, 1, 1 << 16);
    if (s.cin % s.groups != 0 || s.cout % s.groups != 0) {
      r.Fail("groups", "must divide cin and cout");
    }
  } else if (m.kind == "linear") {
    s.op = LayerOp::kLinear;
  } else {
    if (m.kind != "convert") s.op = m.kind == "add" ? LayerOp::kAdd : LayerOp::kGlobalAvgPool;
    s.h_in = r.Int(hw_column, 1, 1 << 16);
    if (m.kind == "convert" && s.cout != s.cin) r.Fail("cout", "a convert row keeps cin channels");
  }
  m.relu = r.Text("act", "none") == "relu";
}

void CheckDtype(const RowReader& r, const std::string& column, const std::string& dtype) {
  if (!ParseDtype(dtype)) {
    r.Fail(column, "unknown dtype '" + dtype + "'; valid: " + JoinNames(DtypeNames()));
  }
}

// Our own format: every column of MeasurementColumns().
Measurement ReadOwnRow(const RowReader& r) {
  Measurement m;
  m.net = r.Text("net");
  m.layer = r.Text("layer");
  m.kind = r.Choice("kind", MeasurementKinds());
  if (!m.IsNetwork()) {
    ReadShape(r, m, "hw_in");
    m.batch_norm = r.Text("bn") == "1";
  }
  m.batch = r.Int("batch", 1, 1 << 20);
  m.dtype = r.Text("dtype");
  CheckDtype(r, "dtype", m.dtype);
  m.mode = r.Choice("mode", kModes);
  m.from_dtype = r.Text("from_dtype", "");
  if (m.IsConversion()) {
    CheckDtype(r, "from_dtype", m.from_dtype);
  } else if (!m.from_dtype.empty()) {
    r.Fail("from_dtype", "only a convert row converts from a dtype");
  }
  ReadTiming(r, m);
  m.warmups = r.Int("warmups", 0, 1 << 30);
  m.device = r.Text("device");
  m.source = r.Text("source");
  m.tool = r.Text("tool");
  m.measured_at = r.Text("measured_at");
  for (const char* column : {"device", "source", "tool", "measured_at"}) {
    if (r.Text(column).empty()) r.Fail(column, "provenance column is empty");
  }
  return m;
}

// The H100 tables of data/h100 (README there): conv.csv, gemm.csv, net_layers.csv, nets.csv.
// Rows whose status is not ok hold no timing and are skipped.
struct ForeignFormat {
  std::string signature;  // a column only this format has
  std::function<Measurement(const RowReader&)> read;
};

// The dtype (from `dtype_column`) and timing of a layer timed in a replayed CUDA graph.
void ReadGraphTiming(const RowReader& r, const std::string& dtype_column, Measurement& m) {
  m.dtype = r.Text(dtype_column);
  CheckDtype(r, dtype_column, m.dtype);
  m.mode = "graph";
  ReadTiming(r, m);
}

Measurement H100Row(const RowReader& r, const std::string& kind) {
  Measurement m;
  m.kind = kind;
  m.device = "h100";
  m.source = r.Where();
  m.tool = "PyTorch 2.11 + CUDA 13.0 (data/h100/README.md)";
  m.measured_at = "2026-11-25";
  m.warmups = 3;
  return m;
}

const std::vector<ForeignFormat>& ForeignFormats() {
  static const std::vector<ForeignFormat> formats = {
      {"gflop",  // conv.csv: a conv alone
       [](const RowReader& r) {
         Measurement m = H100Row(r, "conv");
         ReadShape(r, m, "hw");
         m.batch = r.Int("batch", 1, 1 << 20);
         ReadGraphTiming(r, "dtype", m);
         return m;
       }},
      {"tflops",  // gemm.csv: out = A[M,K] x W[K,N]
       [](const RowReader& r) {
         Measurement m = H100Row(r, "linear");
         m.shape.op = LayerOp::kLinear;
         m.shape.cin = r.Int("K", 1, 1 << 20);
         m.shape.cout = r.Int("N", 1, 1 << 20);
         m.batch = r.Int("M", 1, 1 << 24);
         ReadGraphTiming(r, "format", m);
         return m;
       }},
      {"hw_in",  // net_layers.csv: each layer of the networks alone; convs carry BN (+ReLU)
       [](const RowReader& r) {
         Measurement m = H100Row(r, r.Choice("kind", {"conv", "linear", "add", "gap"}));
         m.net = r.Text("net");
         m.layer = r.Text("layer");
         ReadShape(r, m, "hw_in");
         m.batch_norm = m.kind == "conv";
         m.batch = r.Int("batch", 1, 1 << 20);
         ReadGraphTiming(r, "dtype", m);
         return m;
       }},
      {"params",  // nets.csv: whole networks, eager and graph
       [](const RowReader& r) {
         Measurement m = H100Row(r, "net");
         m.net = r.Text("net");
         m.batch = r.Int("batch", 1, 1 << 20);
         m.dtype = r.Text("dtype");
         CheckDtype(r, "dtype", m.dtype);
         m.mode = r.Choice("mode", kModes);
         ReadTiming(r, m);
         return m;
       }},
  };
  return formats;
}

std::string Number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

}  // namespace

const std::vector<std::string>& MeasurementKinds() {
  static const std::vector<std::string> kinds = {"conv", "linear", "add", "gap", "convert", "net"};
  return kinds;
}

const std::vector<std::string>& MeasurementColumns() {
  static const std::vector<std::string> columns = {
      "net",    "layer",     "kind",   "cin",    "cout",   "k",      "stride", "groups",
      "hw_in",  "act",       "bn",     "batch",  "dtype",  "mode",   "median_us", "min_us",
      "max_us", "reps",      "warmups", "device", "source", "tool",  "measured_at", "from_dtype"};
  return columns;
}

std::vector<Measurement> LoadMeasurements(const std::string& path) {
  const CsvTable table = CsvTable::Load(path);
  const RowReader header(table, 0);
  std::function<Measurement(const RowReader&)> read = ReadOwnRow;
  const ForeignFormat* foreign = nullptr;
  for (const auto& format : ForeignFormats()) {
    if (header.HasColumn(format.signature) && !header.HasColumn("device")) {
      foreign = &format;
      read = format.read;
    }
  }
  if (!foreign) {
    for (const auto& column : table.header()) {
      const auto& known = MeasurementColumns();
      if (std::find(known.begin(), known.end(), column) == known.end()) {
        throw ConfigError(path + ":1: unknown column '" + column + "'; valid: " +
                          JoinNames(known));
      }
    }
    // All required but from_dtype, which files from before convert rows lack.
    for (const auto& column : MeasurementColumns()) {
      if (column != "from_dtype") table.Column(column);
    }
  }
  std::vector<Measurement> rows;
  for (size_t row = 0; row < table.rows(); ++row) {
    const RowReader r(table, row);
    if (foreign && r.Text("status", "ok") != "ok") continue;
    rows.push_back(read(r));
    rows.back().origin = r.Where();
  }
  return rows;
}

void SaveMeasurements(const std::string& path, const std::vector<Measurement>& rows) {
  std::ostringstream out;
  out << JoinNames(MeasurementColumns(), ",") << "\n";
  for (const auto& m : rows) {
    const Layer& s = m.shape;
    const bool layer = !m.IsNetwork();
    const bool conv = m.kind == "conv";
    const bool spatial = conv || m.kind == "add" || m.kind == "gap" || m.IsConversion();
    for (const std::string* text : {&m.device, &m.source, &m.tool, &m.measured_at, &m.net}) {
      if (text->find_first_of(",\n\r") != std::string::npos) {
        throw IoError(path + ": a measurement's text holds a comma or newline: '" + *text + "'");
      }
    }
    out << m.net << "," << m.layer << "," << m.kind << "," << (layer ? std::to_string(s.cin) : "")
        << "," << (layer ? std::to_string(s.cout) : "") << ","
        << (conv ? std::to_string(s.kernel) : "") << ","
        << (conv ? std::to_string(s.stride) : "") << ","
        << (conv ? std::to_string(s.groups) : "") << ","
        << (spatial ? std::to_string(s.h_in) : "") << "," << (m.relu ? "relu" : "none") << ","
        << (m.batch_norm ? "1" : "0") << "," << m.batch << "," << m.dtype << "," << m.mode << ","
        << Number(m.median_us) << "," << Number(m.min_us) << "," << Number(m.max_us) << ","
        << m.reps << "," << m.warmups << "," << m.device << "," << m.source << "," << m.tool
        << "," << m.measured_at << "," << m.from_dtype << "\n";
  }
  WriteFileAtomically(path, out.str());
}

NetworkSpec MeasurementNetwork(const Measurement& row) {
  HWNAS_CHECK(!row.IsNetwork() && !row.IsConversion());
  NetworkSpec spec;
  spec.key = row.net.empty() ? row.kind : row.net + ":" + row.layer;
  const Layer& s = row.shape;
  spec.in_channels = s.cin;
  spec.in_size = s.h_in;
  Layer layer = s;
  layer.policy = ParseDtype(row.dtype)->policy;
  if (layer.op != LayerOp::kConv && layer.op != LayerOp::kLinear) layer.policy = LayerPolicy{};
  if (layer.op == LayerOp::kAdd || layer.op == LayerOp::kGlobalAvgPool) layer.cout = s.cin;
  if (layer.op == LayerOp::kGlobalAvgPool) layer.kernel = s.h_in;
  spec.layers.push_back(layer);
  const int h_out = layer.HOut();
  if (row.batch_norm) {
    spec.layers.push_back({LayerOp::kBatchNorm, s.cout, s.cout, 1, 1, 1, 0, h_out, {}});
  }
  if (row.relu) spec.layers.push_back({LayerOp::kRelu, s.cout, s.cout, 1, 1, 1, 0, h_out, {}});
  return spec;
}

}  // namespace hwnas
