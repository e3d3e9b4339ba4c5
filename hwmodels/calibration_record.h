// What a calibrated device file says it was fitted on (its `calibration:` mapping), so that
// validation judges it only on measurements it has not seen.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "hwmodels/measured_network.h"
#include "hwmodels/measurement.h"

namespace hwnas {

struct CalibrationRecord {
  std::set<std::string> files;  // measurement files (canonical paths) fitted on
  std::set<std::string> nets;   // networks fitted on: net ids, or candidate strings
  std::set<std::string> kinds;  // kinds of row fitted on (measurement kinds); empty = all
  // The statistic of each row's repetitions it was fitted to: compare measurements in it.
  TimingStatistic timing = TimingStatistic::kMedian;

  // A row of a network fitted on, or a layer row of a kind fitted on from a file fitted on.
  bool Covers(const Measurement& row) const;
};

// The record of a device file; empty for a device that was not calibrated.
CalibrationRecord ReadCalibrationRecord(const std::string& device_path);

// A one-line warning when networks measured on this machine take, at the median, more than
// (1 + tolerance) or less than 1 / (1 + tolerance) times the latency `device` predicts for them:
// its calibration was fitted on another host. Empty when they agree, or with no ratios.
std::string CalibrationDriftWarning(const std::string& device,
                                    std::vector<double> measured_over_predicted,
                                    double tolerance = 0.25);

}  // namespace hwnas
