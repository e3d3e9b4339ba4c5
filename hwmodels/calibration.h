// Fits a roofline's efficiencies to measurements: for every (op kind, precision) the samples
// exercise, a compute efficiency, a bandwidth efficiency and a launch overhead, plus the eager
// dispatch cost when eager samples are given. Least squares on relative error
// (predicted / measured - 1), by Levenberg-Marquardt on log-parameters, from a few starting
// points because the roofline's max() leaves the inactive side of a step without gradient.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hwmodels/device_model.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/layer_residuals.h"
#include "hwmodels/measured_network.h"

namespace hwnas {

struct CalibrationResult {
  DeviceSpec fitted;
  std::vector<std::string> fitted_keys;  // "conv/fp16", ... and "eager_overhead_us"
  int iterations = 0;
  double rms_relative_error = 0;  // on the samples fitted
};

// Throws ConfigError when a sample cannot be costed on the base device (a precision it lacks).
CalibrationResult Calibrate(const DeviceSpec& base, const std::vector<MeasuredNetwork>& samples,
                            int threads = 0);

// The residuals of a fitted roofline on the layer and convert rows among `rows` (network rows
// do not say which layer erred), each unit's k = `neighbours` nearest ones correcting it.
// Network rows among `rows` (their layers from `nets`) put layers in context: when the rows of
// a network's run (same batch, dtype and mode) time every unit of it, they are scaled by the
// network's time over their sum, so that a residual says what the unit costs inside a network.
LayerResiduals FitResiduals(const DeviceSpec& fitted, const std::vector<Measurement>& rows,
                            const std::map<std::string, NetworkSpec>& nets,
                            TimingStatistic timing, int neighbours);

}  // namespace hwnas
