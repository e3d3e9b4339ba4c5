#include "hwmodels/measured_network.h"

#include "core/errors.h"
#include "hwmodels/dtype.h"

namespace hwnas {

std::vector<MeasuredNetwork> PairMeasurements(const std::vector<Measurement>& rows,
                                              const std::map<std::string, NetworkSpec>& nets,
                                              TimingStatistic timing) {
  std::vector<MeasuredNetwork> paired;
  paired.reserve(rows.size());
  for (const auto& row : rows) {
    if (row.IsConversion()) continue;  // not a network: only layer residuals use them
    MeasuredNetwork m;
    m.id = row.origin;
    m.net = row.net;
    m.kind = row.kind;
    const Dtype dtype = *ParseDtype(row.dtype);
    m.options.batch = row.batch;
    m.options.float_format = dtype.run_format;
    m.options.mode = row.mode == "eager" ? ExecutionMode::kEager : ExecutionMode::kGraph;
    m.measured_ms = (timing == TimingStatistic::kMin ? row.min_us : row.median_us) * 1e-3;
    if (row.IsNetwork()) {
      const auto it = nets.find(row.net);
      if (it == nets.end()) {
        throw ConfigError(row.origin + ": network '" + row.net + "' is in no nets file (give it " +
                          "with --nets, or its candidates' search space with --space)");
      }
      m.spec = it->second;
      ApplyDtype(dtype, m.spec);
    } else {
      m.spec = MeasurementNetwork(row);
    }
    paired.push_back(std::move(m));
  }
  return paired;
}

std::vector<MeasuredNetwork> MeasureWith(const DeviceModel& truth,
                                         const std::vector<NetworkSpec>& networks,
                                         const Dtype& dtype) {
  std::vector<MeasuredNetwork> measured;
  for (const auto& spec : networks) {
    const DeviceCost cost = truth.Cost(spec);
    if (!cost.ok) continue;
    MeasuredNetwork m{spec.key, spec.key, "net", spec, CostOptions{}, cost.latency_ms};
    m.options.float_format = dtype.run_format;
    ApplyDtype(dtype, m.spec);
    measured.push_back(std::move(m));
  }
  return measured;
}

}  // namespace hwnas
