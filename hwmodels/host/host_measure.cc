#include "hwmodels/host/host_measure.h"

#include <omp.h>
#include <tbb/global_control.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "core/errors.h"
#include "core/paths.h"
#include "core/utc_time.h"
#include "hwmodels/host/onednn_layer.h"

namespace hwnas {

struct HostThreads::Control {
  tbb::global_control tbb;
  int omp_before;
};

HostThreads::HostThreads(int threads)
    : control_(
          new Control{{tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads)},
                      omp_get_max_threads()}) {
  omp_set_num_threads(threads);
}

HostThreads::~HostThreads() { omp_set_num_threads(control_->omp_before); }

std::string HostSource(int threads) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  char host[256] = "unknown host";
  gethostname(host, sizeof host - 1);
  std::string source = model + " on " + host + " (" + std::to_string(threads) +
                       (threads == 1 ? " thread)" : " threads)");
  // The CSV has no quoting; a comma in a CPU name would split the column.
  for (char& c : source) {
    if (c == ',') c = ';';
  }
  return source;
}

std::string HostTool() {
  return "hwnas hw measure " + AppVersion() + " (nn engine fp32; " + OneDnnVersion() +
         " int8 and bf16)";
}


namespace {

Measurement Row(const Timing& timing, int batch, int threads) {
  Measurement m;
  m.batch = batch;
  m.mode = "graph";  // built once and replayed; no framework between the layers
  m.median_us = timing.median_us;
  m.min_us = timing.min_us;
  m.max_us = timing.max_us;
  m.reps = timing.reps;
  m.warmups = timing.warmups;
  m.device = "host-cpu";
  m.source = HostSource(threads);
  m.tool = HostTool();
  m.measured_at = UtcNow();
  return m;
}

std::string NetworkDtype(const HostNetwork& network) {
  std::set<HostPrecision> used;
  for (const auto& step : network.steps()) {
    if (step.kind == "conv" || step.kind == "linear") used.insert(step.precision);
  }
  if (used.size() > 1) return "mixed";
  return std::string(HostPrecisionName(used.empty() ? HostPrecision::kFp32 : *used.begin()));
}

}  // namespace

std::vector<Measurement> MeasureOnHost(const NetworkSpec& spec, const HostMeasureOptions& options) {
  HostThreads threads(options.threads);
  std::unique_ptr<HostNetwork> network;
  try {
    network = std::make_unique<HostNetwork>(spec, options.batch, options.seed);
  } catch (const UnsupportedError& e) {
    throw UnsupportedError("net " + spec.key + ": " + e.what());
  }
  std::vector<Measurement> rows;
  Measurement net = Row(network->TimeForward(options.timing), options.batch, options.threads);
  net.net = spec.key;
  net.kind = "net";
  net.dtype = NetworkDtype(*network);
  rows.push_back(net);
  if (!options.layers) return rows;

  // Each step as it runs inside the pass, so that the rows add up to the network: a layer
  // timed alone finds its weights and input in cache, which a pass does not leave them.
  const auto& steps = network->steps();
  const std::vector<Timing> timings = network->TimeStepsInPass(options.timing);
  for (size_t i = 0; i < steps.size(); ++i) {
    const HostStep& step = steps[i];
    Measurement m = Row(timings[i], options.batch, options.threads);
    m.net = spec.key;
    m.layer = std::to_string(step.first_layer);
    m.dtype = std::string(HostPrecisionName(step.precision));
    if (step.kind == "quantize" || step.kind == "dequantize") {
      // The tensor converted is the input of the step's layer, or the network's output.
      const bool output = step.first_layer == static_cast<int>(spec.layers.size());
      const Layer& at = spec.layers[output ? step.first_layer - 1 : step.first_layer];
      m.kind = "convert";
      m.shape.cin = m.shape.cout = output ? at.cout : at.cin;
      m.shape.h_in = output ? (at.op == LayerOp::kConv ? at.HOut() : 1)
                            : (at.op == LayerOp::kLinear ? 1 : at.h_in);
      m.from_dtype = step.kind == "quantize" ? "fp32" : m.dtype;
      if (step.kind == "dequantize") m.dtype = "fp32";
      rows.push_back(m);
      continue;
    }
    if (step.kind != "conv" && step.kind != "linear" && step.kind != "add" && step.kind != "gap") {
      continue;
    }
    m.kind = step.kind;
    m.shape = spec.layers[step.first_layer];
    for (int j = step.first_layer + 1; j < step.first_layer + step.layer_count; ++j) {
      const LayerOp op = spec.layers[j].op;
      m.batch_norm |= op == LayerOp::kBatchNorm;
      // The CSV knows relu only; a relu6 costs the same pass over the output.
      m.relu |= op == LayerOp::kRelu || op == LayerOp::kRelu6;
    }
    rows.push_back(m);
  }
  return rows;
}

}  // namespace hwnas
