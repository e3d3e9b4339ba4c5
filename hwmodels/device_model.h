// A target device: NetworkSpec -> latency and energy. Device models are cheap and never throw
// from Cost: a network the device cannot cost is a result with ok = false and the reason, which
// the run stores as a FAIL for that device.
//
// Kinds (the device YAML's `kind:` key):
//   table       per-architecture measurements looked up by the candidate's string
//   roofline    per layer max(compute / throughput, bytes / bandwidth) + overhead, from the
//               device's published figures; compression-aware (bits, sparsity, rank, fusion)
//   calibrated  a roofline whose efficiencies were fitted to measurements (`hwnas hw calibrate`)
//   lut         per-layer (or per-block) look-up of measured entries keyed by op signature
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_node.h"
#include "core/network_spec.h"

namespace hwnas {

enum class CostSource { kMeasured, kPredicted };

std::string_view CostSourceName(CostSource source);

// How the network is run: batch size, the float format of layers that do not name one, and
// whether the framework launches op by op (eager) or replays a captured graph.
enum class ExecutionMode { kGraph, kEager };

struct CostOptions {
  int batch = 1;
  FloatFormat float_format = FloatFormat::kFp32;
  ExecutionMode mode = ExecutionMode::kGraph;
  bool breakdown = false;  // fill DeviceCost::layers
};

// One costed step of the network: a layer, or a run of layers the device fuses into one.
struct LayerCost {
  int first_layer = 0;
  int layer_count = 1;
  std::string op;         // e.g. "conv3x3", "conv+bn+relu", "add"
  std::string precision;  // what it executed at, e.g. "fp16", "int8", "int6->int8"
  double macs = 0.0;      // executed multiply-accumulates (after sparsity and rank)
  double bytes = 0.0;     // bytes moved
  double latency_ms = 0.0;
  std::optional<double> energy_mj;
  std::string bound;      // "compute", "memory", "overhead", "dispatch" or "table"
  std::string efficiency;  // the efficiency entry applied, e.g. "conv/fp16" (analytic kinds)
};

struct DeviceCost {
  bool ok = false;
  std::string error;
  double latency_ms = 0.0;
  std::optional<double> energy_mj;  // absent when the device does not provide energy
  CostSource source = CostSource::kPredicted;
  std::vector<LayerCost> layers;  // with CostOptions::breakdown
};

// What a device YAML declares about the device, common to every kind.
struct DeviceInfo {
  std::string name;
  std::string kind;
  std::string description;
  std::string file;
  bool provides_energy = false;
};

class DeviceModel {
 public:
  explicit DeviceModel(DeviceInfo info) : info_(std::move(info)) {}
  virtual ~DeviceModel() = default;

  const DeviceInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }

  // Thread-safe; called concurrently for the candidates of a batch. A network with a
  // degenerate layer (no channels, an empty output, a bad batch) is ok = false for every kind.
  DeviceCost Cost(const NetworkSpec& spec, const CostOptions& options = {}) const;

 protected:
  // Cost() of a network whose layers all have a shape.
  virtual DeviceCost CostOf(const NetworkSpec& spec, const CostOptions& options) const = 0;

 private:
  DeviceInfo info_;
};

// Loads a device from its YAML file. Throws IoError / ConfigError with file, line and key.
std::unique_ptr<DeviceModel> LoadDeviceModel(const std::string& path);
// The same from YAML already read; `path` names it in the DeviceInfo.
std::unique_ptr<DeviceModel> MakeDeviceModel(const ConfigNode& config, const std::string& path);
std::vector<std::string> DeviceKinds();

std::unique_ptr<DeviceModel> MakeTableDeviceModel(const ConfigNode& config, DeviceInfo info);
std::unique_ptr<DeviceModel> MakeLutDeviceModel(const ConfigNode& config, DeviceInfo info);

}  // namespace hwnas
