#include "hwmodels/device_model.h"

#include <regex>

#include "core/kind_registry.h"
#include "hwmodels/roofline.h"

namespace hwnas {

namespace {

const KindRegistry<DeviceModel, DeviceInfo>& Registry() {
  static const KindRegistry<DeviceModel, DeviceInfo> registry = {
      {"table", MakeTableDeviceModel},
      {"roofline", MakeRooflineDeviceModel},
      {"calibrated", MakeRooflineDeviceModel},
      {"lut", MakeLutDeviceModel},
  };
  return registry;
}

}  // namespace

std::string_view CostSourceName(CostSource source) {
  return source == CostSource::kMeasured ? "measured" : "predicted";
}

DeviceCost DeviceModel::Cost(const NetworkSpec& spec, const CostOptions& options) const {
  auto refuse = [&](const std::string& why) {
    DeviceCost cost;
    cost.error = name() + ": " + why;
    return cost;
  };
  if (options.batch < 1) return refuse("batch size must be at least 1");
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const Layer& layer = spec.layers[i];
    const std::string where = "layer " + std::to_string(i) + " (" +
                              std::string(LayerOpName(layer.op)) + "): ";
    if (layer.cin < 1 || layer.cout < 1 || layer.h_in < 1 || layer.kernel < 1 ||
        layer.stride < 1 || layer.groups < 1) {
      return refuse(where + "zero-size or negative shape");
    }
    // Checked directly too: with a stride, HOut()'s division rounds a negative span up to 0
    // and reports one output (a 5x5 kernel over a 4x4 input at stride 2).
    const bool windowed = layer.op == LayerOp::kConv || layer.op == LayerOp::kAvgPool ||
                          layer.op == LayerOp::kMaxPool;
    if (layer.HOut() < 1 || (windowed && layer.h_in + 2 * layer.padding < layer.kernel)) {
      return refuse(where + "the kernel is larger than the padded input");
    }
    if (layer.cin % layer.groups != 0 || layer.cout % layer.groups != 0) {
      return refuse(where + "groups must divide the channels");
    }
  }
  return CostOf(spec, options);
}

std::vector<std::string> DeviceKinds() { return Registry().Names(); }

std::unique_ptr<DeviceModel> LoadDeviceModel(const std::string& path) {
  return MakeDeviceModel(ConfigNode::LoadFile(path), path);
}

std::unique_ptr<DeviceModel> MakeDeviceModel(const ConfigNode& config, const std::string& path) {
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
