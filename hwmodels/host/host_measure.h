// `hwnas hw measure`: measurement rows of networks timed on this machine (device host-cpu),
// each with its provenance: the CPU and host, the program and its kernels, the time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hwmodels/host/host_network.h"
#include "hwmodels/measurement.h"

namespace hwnas {

struct HostMeasureOptions {
  int batch = 1;
  int threads = 1;
  bool layers = false;  // also every step and conversion, as timed inside the pass
  TimingOptions timing;
  uint64_t seed = 0;  // weights and input
};

// Both engines on `threads` threads while alive: TBB for the nn engine, OpenMP for oneDNN.
class HostThreads {
 public:
  explicit HostThreads(int threads);
  ~HostThreads();

 private:
  struct Control;
  std::unique_ptr<Control> control_;
};

// "AMD EPYC on myhost (1 thread)": the CPU model of /proc/cpuinfo, the host name, the threads.
std::string HostSource(int threads);
// "hwnas hw measure 0.1.0 (nn engine fp32; oneDNN 2.6.3 int8)".
std::string HostTool();

// The network row (kind net; dtype fp32, int8 or mixed), then with options.layers a row per
// conv, linear, add and gap step and per conversion between widths (kind convert), each timed
// inside whole passes, with the net id and the layer index. Throws UnsupportedError
// naming the net and layer for a layer the host cannot run (HostLayerPrecision).
std::vector<Measurement> MeasureOnHost(const NetworkSpec& spec, const HostMeasureOptions& options);

}  // namespace hwnas
