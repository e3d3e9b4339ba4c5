// Where hwnas finds its shipped configs and data, and its version.
#pragma once

#include <string>
#include <vector>

namespace hwnas {

// $HWNAS_HOME if set, else the source tree the binary was built from.
std::string HomeDir();
// configs/devices under HomeDir().
std::string DeviceConfigDir();
// A device argument is a path when it names a .yaml file, else a name in DeviceConfigDir().
std::string DeviceConfigPath(const std::string& name_or_path);
// The device names in DeviceConfigDir(), sorted: what "unknown device" errors list.
std::vector<std::string> KnownDeviceNames();
std::string AppVersion();

}  // namespace hwnas
