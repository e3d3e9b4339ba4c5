#include "core/paths.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace hwnas {

std::string HomeDir() {
  const char* home = std::getenv("HWNAS_HOME");
  return home && *home ? home : HWNAS_HOME_DEFAULT;
}

std::string DeviceConfigDir() { return HomeDir() + "/configs/devices"; }

std::string DeviceConfigPath(const std::string& name_or_path) {
  if (std::filesystem::path(name_or_path).extension() == ".yaml") return name_or_path;
  return DeviceConfigDir() + "/" + name_or_path + ".yaml";
}

std::vector<std::string> KnownDeviceNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(DeviceConfigDir())) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string AppVersion() { return HWNAS_VERSION; }

}  // namespace hwnas
