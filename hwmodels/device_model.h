// A target device: NetworkSpec -> latency and energy. Device models are cheap and never throw
// from Cost: a network the device cannot cost is a result with ok = false and the reason, which
// the run stores as a FAIL for that device.
//
// Kinds (the device YAML's `kind:` key): `table` looks up per-architecture measurements.
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

struct DeviceCost {
  bool ok = false;
  std::string error;
  double latency_ms = 0.0;
  std::optional<double> energy_mj;  // absent when the device does not provide energy
  CostSource source = CostSource::kPredicted;
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

  // Thread-safe; called concurrently for the candidates of a batch.
  virtual DeviceCost Cost(const NetworkSpec& spec) const = 0;

 private:
  DeviceInfo info_;
};

// Loads a device from its YAML file. Throws IoError / ConfigError with file, line and key.
std::unique_ptr<DeviceModel> LoadDeviceModel(const std::string& path);
std::vector<std::string> DeviceKinds();

std::unique_ptr<DeviceModel> MakeTableDeviceModel(const ConfigNode& config, DeviceInfo info);

}  // namespace hwnas
