// Measured latencies, one row per layer or whole network, with where each number came from.
// `hwnas hw measure` writes them, `hwnas hw calibrate` fits on them and `hwnas hw validate`
// checks a model against them; the H100 tables of data/h100/ read into the same rows.
//
// CSV columns (a header row; order free, unknown columns refused):
//   net         network id in the nets file ("" for a layer measured on its own)
//   layer       the layer's index in the network ("" for a whole network)
//   kind        conv | linear | add | gap | convert | net
//   cin, cout, k, stride, groups, hw_in, act   the layer's shape (empty for kind=net);
//               act is relu or none; a conv row times conv + batch norm (+ relu) when bn=1;
//               a convert row (a tensor of cin channels of hw_in x hw_in changing precision,
//               from from_dtype to dtype) has cout = cin
//   bn          1 when the row's conv is followed by batch norm in the timed code
//   batch, dtype, mode      how it was run: dtype fp32|tf32|fp16|bf16|int8|..., mode graph|eager
//   from_dtype  convert rows: the precision converted from (optional column; empty otherwise)
//   median_us, min_us, max_us, reps, warmups   the timing
//   device, source, tool, measured_at   provenance: the device name, the file or machine the
//               number came from, the program that timed it, and when (ISO 8601)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/network_spec.h"

namespace hwnas {

struct Measurement {
  std::string net;
  std::string layer;
  std::string kind;  // conv | linear | add | gap | convert | net
  Layer shape;       // op, cin, cout, kernel, stride, groups, padding (k/2), h_in; not for net
  bool relu = false;
  bool batch_norm = false;
  int batch = 1;
  std::string dtype = "fp32";
  std::string from_dtype;  // convert rows
  std::string mode = "graph";
  double median_us = 0.0;
  double min_us = 0.0;
  double max_us = 0.0;
  int reps = 0;
  int warmups = 0;
  std::string device;
  std::string source;
  std::string tool;
  std::string measured_at;
  std::string origin;  // "file:line" the row was read from (not a column)

  bool IsNetwork() const { return kind == "net"; }
  bool IsConversion() const { return kind == "convert"; }
};

// The columns, in the order SaveMeasurements writes them.
const std::vector<std::string>& MeasurementColumns();
// The values of the kind column.
const std::vector<std::string>& MeasurementKinds();

// Throws IoError for a missing or truncated file and ConfigError naming the file, line and
// column of a bad value (an unknown kind, dtype or mode, a non-positive time, a missing shape).
std::vector<Measurement> LoadMeasurements(const std::string& path);
// Writes to a temporary file renamed into place, so a failed write leaves no half file.
void SaveMeasurements(const std::string& path, const std::vector<Measurement>& rows);

// A layer row (not a convert row) as a one-layer network (conv [+ bn] [+ relu], or the add /
// gap / linear alone), so device models cost layer rows and network rows the same way.
NetworkSpec MeasurementNetwork(const Measurement& row);

}  // namespace hwnas
