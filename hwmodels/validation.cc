#include "hwmodels/validation.h"

#include <cmath>

#include "core/errors.h"
#include "core/rank_correlation.h"

namespace hwnas {

ValidationReport Validate(const std::vector<double>& predicted, const std::vector<double>& measured) {
  HWNAS_CHECK(predicted.size() == measured.size());
  ValidationReport report;
  report.count = static_cast<int>(measured.size());
  if (measured.empty()) return report;
  int within = 0;
  double absolute = 0;
  for (size_t i = 0; i < measured.size(); ++i) {
    const double error = std::abs(predicted[i] / measured[i] - 1.0);
    within += error <= 0.10;
    absolute += error;
  }
  report.within_10_percent = static_cast<double>(within) / report.count;
  report.mape = absolute / report.count;
  if (measured.size() >= 2) {
    report.spearman = SpearmanRho(predicted, measured);
    report.kendall = KendallTau(predicted, measured);
  }
  return report;
}

ValidationReport ValidateDevice(const DeviceModel& device,
                                const std::vector<MeasuredNetwork>& measured) {
  std::vector<double> predicted, truth;
  for (const auto& m : measured) {
    const DeviceCost cost = device.Cost(m.spec, m.options);
    if (!cost.ok) throw ConfigError(m.id + ": " + cost.error);
    predicted.push_back(cost.latency_ms);
    truth.push_back(m.measured_ms);
  }
  return Validate(predicted, truth);
}

}  // namespace hwnas
