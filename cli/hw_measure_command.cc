// `hwnas hw measure`: time networks (and their layers) on this machine, as measurement rows of
// the `host-cpu` device for `hwnas hw calibrate`; `hwnas hw random-nets`: the random
// mixed-precision networks to measure.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "cli/network_sources.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "hwmodels/host/host_measure.h"
#include "hwmodels/host/random_nets.h"
#include "hwmodels/net_file.h"

namespace hwnas {

namespace {

int Measure(const Args& args) {
  const NetworkSources sources = ReadNetworkSources(args, "hwnas hw measure");
  const std::string out = args.Require("out");
  HostMeasureOptions options;
  options.layers = args.Has("layers");
  options.batch = static_cast<int>(args.Int("batch", 1, 4096).value_or(1));
  options.threads = static_cast<int>(args.Int("threads", 1, 1024).value_or(1));
  options.timing.reps = static_cast<int>(args.Int("reps", 1, 1'000'000).value_or(100));
  options.timing.warmups = static_cast<int>(args.Int("warmups", 0, 1'000'000).value_or(10));
  options.seed = static_cast<uint64_t>(args.Int("seed", 0, INT64_MAX).value_or(0));

  // A wrong --out folder is found before minutes of timing, not after.
  const auto folder = std::filesystem::absolute(out).parent_path();
  if (!std::filesystem::is_directory(folder)) {
    throw IoError("--out " + out + ": no such folder " + folder.string());
  }
  // A candidate runs as this host deploys its policy; a nets file names its dtypes itself.
  std::vector<NetworkSpec> nets;
  for (const auto& spec : sources.nets) {
    nets.push_back(sources.candidates ? HostDeployable(spec) : spec);
  }
  // Refuse a layer the host cannot run before spending minutes on the nets ahead of it.
  for (const auto& spec : nets) {
    for (size_t i = 0; i < spec.layers.size(); ++i) {
      try {
        HostLayerPrecision(spec.layers[i], i);
      } catch (const UnsupportedError& e) {
        throw UnsupportedError(sources.where + ": net " + spec.key + ": " + e.what());
      }
    }
  }
  std::vector<Measurement> rows;
  const auto start = std::chrono::steady_clock::now();
  for (size_t n = 0; n < nets.size(); ++n) {
    const auto measured = MeasureOnHost(nets[n], options);
    rows.insert(rows.end(), measured.begin(), measured.end());
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // A candidate string runs to hundreds of characters: its start is enough to follow along.
    constexpr size_t kShownId = 48;
    const std::string& id = nets[n].key;
    const std::string shown = id.size() > kShownId ? id.substr(0, kShownId) + "..." : id;
    std::fprintf(stderr, "[%zu/%zu] %s %s: %.1f us median (%zu layer rows)  ETA %.0f s\n", n + 1,
                 nets.size(), shown.c_str(), measured[0].dtype.c_str(), measured[0].median_us,
                 measured.size() - 1, elapsed / (n + 1) * (nets.size() - n - 1));
  }
  SaveMeasurements(out, rows);
  std::fprintf(stderr, "%zu rows written to %s\n", rows.size(), out.c_str());
  return 0;
}

int RandomNets(const Args& args) {
  RandomNetsOptions options;
  options.count = static_cast<int>(args.Int("count", 1, 1'000'000).value_or(50));
  options.seed = static_cast<uint64_t>(args.Int("seed", 0, INT64_MAX).value_or(0));
  options.id_prefix = args.String("prefix").value_or("r");
  if (const auto dtypes = args.String("dtypes")) {
    options.dtypes.clear();
    std::string rest = *dtypes + ",";
    for (size_t comma; (comma = rest.find(',')) != std::string::npos; rest.erase(0, comma + 1)) {
      options.dtypes.push_back(rest.substr(0, comma));
    }
  }
  const std::string out = args.Require("out");
  WriteFileAtomically(out, RandomNetsJsonl(options));
  // Read back: a dtype the nets format does not know fails here, not at measurement time.
  std::fprintf(stderr, "%zu networks written to %s\n", LoadNetsFile(out).size(), out.c_str());
  return 0;
}

}  // namespace

Command HwMeasureCommand() {
  return {"hw measure",
          "time networks (--layers: and each layer) on this machine: a host-cpu measurement CSV",
          {{"nets", "FILE",
            "networks, one JSON object a line (hwmodels/net_file.h); dtype fp32|int8|bf16"},
           {"space", "FILE", "search space of --candidate"},
           {"candidate", "STR", "one candidate string of --space, deployed as the host runs it"},
           {"db", "FILE", "results database: measure every candidate of a run"},
           {"run", "ID", "run id with --db (default: the newest run)"},
           {"out", "CSV", "measurement rows to write (hwmodels/measurement.h)"},
           {"layers", "",
            "also every conv, linear, add and gap step and every conversion between widths, "
            "each as timed inside the pass"},
           {"batch", "N", "images per pass (default 1)"},
           {"reps", "R", "timed repetitions; median, min and max are kept (default 100)"},
           {"warmups", "W", "untimed runs before them (default 10)"},
           {"threads", "T", "threads of the nn engine and oneDNN (default 1)"},
           {"seed", "S", "random weights and input (default 0)"}},
          Measure};
}

Command HwRandomNetsCommand() {
  return {"hw random-nets",
          "random MobileNetV2-like networks with random per-layer dtypes, as a nets file",
          {{"out", "FILE", "nets file to write (JSON lines)"},
           {"count", "N", "networks (default 50)"},
           {"seed", "S", "default 0"},
           {"dtypes", "LIST", "dtypes drawn per conv and linear layer (default fp32,int8)"},
           {"prefix", "TEXT", "net ids are TEXT0, TEXT1, ... (default r)"}},
          RandomNets};
}

}  // namespace hwnas
