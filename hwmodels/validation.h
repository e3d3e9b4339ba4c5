// How well a device model's predictions match measurements it was not fitted on: the share
// within +-10% (nn-Meter's headline metric), mean absolute percentage error, and rank agreement.
#pragma once

#include <vector>

#include "hwmodels/measured_network.h"

namespace hwnas {

struct ValidationReport {
  int count = 0;
  double within_10_percent = 0;  // share in [0, 1]
  double mape = 0;               // mean |predicted / measured - 1|, as a share
  double spearman = 0;
  double kendall = 0;
};

ValidationReport Validate(const std::vector<double>& predicted, const std::vector<double>& measured);

// Costs each measured network on the device and compares. Throws ConfigError naming the
// measurement the device cannot cost.
ValidationReport ValidateDevice(const DeviceModel& device,
                                const std::vector<MeasuredNetwork>& measured);

}  // namespace hwnas
