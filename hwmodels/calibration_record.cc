#include "hwmodels/calibration_record.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/config_node.h"

namespace hwnas {

namespace {

std::string CanonicalFile(const std::string& path) {
  return std::filesystem::weakly_canonical(path).string();
}

}  // namespace

bool CalibrationRecord::Covers(const Measurement& row) const {
  if (nets.count(row.net)) return true;
  const std::string file = row.origin.substr(0, row.origin.rfind(':'));
  return row.net.empty() && files.count(CanonicalFile(file)) &&
         (kinds.empty() || kinds.count(row.kind));
}

CalibrationRecord ReadCalibrationRecord(const std::string& device_path) {
  CalibrationRecord record;
  const ConfigNode config = ConfigNode::LoadFile(device_path);
  if (!config.Has("calibration")) return record;
  const ConfigNode calibration = config.Child("calibration");
  if (calibration.Has("measurements")) {
    // Relative to the device file's folder, as every path in a YAML.
    const auto folder = std::filesystem::path(device_path).parent_path();
    for (const auto& file : calibration.StringList("measurements")) {
      record.files.insert(CanonicalFile((folder / file).string()));
    }
  }
  if (calibration.Has("kinds")) {
    for (const auto& kind : calibration.StringList("kinds")) record.kinds.insert(kind);
  }
  if (calibration.Choice("timing", {"median", "min"}, "median") == "min") {
    record.timing = TimingStatistic::kMin;
  }
  for (const char* key : {"fitted_nets", "fitted_candidates"}) {
    if (!calibration.Has(key)) continue;
    for (const auto& net : calibration.StringList(key)) record.nets.insert(net);
  }
  return record;
}

std::string CalibrationDriftWarning(const std::string& device,
                                    std::vector<double> measured_over_predicted, double tolerance) {
  if (measured_over_predicted.empty()) return "";
  auto middle = measured_over_predicted.begin() + measured_over_predicted.size() / 2;
  std::nth_element(measured_over_predicted.begin(), middle, measured_over_predicted.end());
  const double ratio = *middle;
  if (ratio <= 1 + tolerance && ratio >= 1 / (1 + tolerance)) return "";
  char text[320];
  std::snprintf(text, sizeof text,
                "warning: %s: networks measured on this machine take %.2fx the latency its model "
                "predicts (median of %zu); it was calibrated on another host, so recalibrate it "
                "here with `hwnas hw measure` and `hwnas hw calibrate`",
                device.c_str(), ratio, measured_over_predicted.size());
  return text;
}

}  // namespace hwnas
