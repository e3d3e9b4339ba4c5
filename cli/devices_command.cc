#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "cli/table_output.h"
#include "core/paths.h"
#include "hwmodels/device_model.h"

namespace hwnas {

namespace {

int Devices(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(DeviceConfigDir())) {
    if (entry.path().extension() == ".yaml") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  TableOutput table({{"device", false},
                     {"kind", false},
                     {"provides", false},
                     {"description", false}});
  for (const auto& path : paths) {
    const auto device = LoadDeviceModel(path);
    const auto& info = device->info();
    table.AddRow({info.name, info.kind, info.provides_energy ? "latency, energy" : "latency",
                  info.description});
  }
  table.Print(std::cout, format);
  return 0;
}

}  // namespace

Command DevicesCommand() {
  return {"devices",
          "the device targets in configs/devices/ and what each provides",
          {kFormatFlag},
          Devices};
}

}  // namespace hwnas
