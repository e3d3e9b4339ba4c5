#include "hwmodels/device_model.h"

#include <regex>

#include "core/kind_registry.h"

namespace hwnas {

namespace {

const KindRegistry<DeviceModel, DeviceInfo>& Registry() {
  static const KindRegistry<DeviceModel, DeviceInfo> registry = {
      {"table", MakeTableDeviceModel},
      {"lut", MakeLutDeviceModel},
  };
  return registry;
}

}  // namespace

std::string_view CostSourceName(CostSource source) {
  return source == CostSource::kMeasured ? "measured" : "predicted";
}

std::vector<std::string> DeviceKinds() { return Registry().Names(); }

std::unique_ptr<DeviceModel> LoadDeviceModel(const std::string& path) {
  const ConfigNode config = ConfigNode::LoadFile(path);
  DeviceInfo info;
  info.file = path;
  info.name = config.String("name");
  if (!std::regex_match(info.name, std::regex("[a-z0-9_-]+"))) {
    config.Child("name").Fail("device names use a-z, 0-9, '_' and '-', got '" + info.name + "'");
  }
  info.description = config.String("description", "");
  return Registry().Make(config, info);
}

}  // namespace hwnas
