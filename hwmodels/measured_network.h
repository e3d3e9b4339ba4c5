// A measured latency paired with the network it is of and how that network was run: what
// calibration fits on and validation checks against. Layer rows of a measurement file become
// one-layer networks; network rows take their layers from a nets file; a table device gives one
// per candidate it holds.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hwmodels/device_model.h"
#include "hwmodels/dtype.h"
#include "hwmodels/measurement.h"

namespace hwnas {

struct MeasuredNetwork {
  std::string id;    // for reports: "file:line" or the candidate's string
  std::string net;   // the network id it belongs to ("" for a layer measured on its own)
  std::string kind;  // conv | linear | add | gap | net
  NetworkSpec spec;
  CostOptions options;
  double measured_ms = 0;
};

// Which of a row's timings stands for the network: the median, or the minimum, which on a
// machine shared with other work estimates the time without their interference.
enum class TimingStatistic { kMedian, kMin };

// Network rows need `nets` (by id); a row naming a net not there is a ConfigError at its line.
// A network row's dtype applies to the conv and linear layers that name no dtype themselves.
// Convert rows are left out: they are not networks (FitResiduals reads them).
std::vector<MeasuredNetwork> PairMeasurements(const std::vector<Measurement>& rows,
                                              const std::map<std::string, NetworkSpec>& nets,
                                              TimingStatistic timing = TimingStatistic::kMedian);

// The latency `truth` reports for each network (a table device's measurements), for the
// networks run as `dtype` says (an int8 Edge TPU model); networks it cannot cost are left out.
std::vector<MeasuredNetwork> MeasureWith(const DeviceModel& truth,
                                         const std::vector<NetworkSpec>& networks,
                                         const Dtype& dtype);

}  // namespace hwnas
