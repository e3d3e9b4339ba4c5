// A run's YAML: what to search, how to score it, where to cost it, and how long to go.
//
//   space: ../spaces/nb201.yaml          # relative to this file
//   evaluator: {kind: tabular, ...}      # see evaluator/evaluator.h
//   devices: [edgegpu, raspi4]           # names in configs/devices/, or .yaml paths
//   objectives: [accuracy, latency]      # add energy for a 3-objective front
//   constraints: [{device: edgegpu, max_latency_ms: 5}]
//   sampler: {kind: nsga2, population: 50}
//   budget: {evaluations: 1000, seconds: 0}   # seconds 0 = no time limit
//   batch: 50                            # candidates per ask; default: the population
//   seed: 0
//   threads: 0                           # 0 = every core
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config_node.h"
#include "search/sampler.h"

namespace hwnas {

struct Constraint {
  std::string device;
  std::optional<double> max_latency_ms;
  std::optional<double> max_energy_mj;
};

struct RunConfig {
  std::string origin;  // the file it was read from; relative paths resolve against it
  std::string text;    // the effective YAML, overrides applied: what the store keeps
  std::string space_path;
  std::vector<std::string> device_paths;
  bool energy_objective = false;
  std::vector<Constraint> constraints;
  SamplerOptions sampler;
  int64_t budget_evaluations = 0;
  double budget_seconds = 0;
  int batch = 0;
  uint64_t seed = 0;
  int threads = 0;

  // The evaluator mapping, read when the run builds its evaluator.
  ConfigNode Evaluator() const;
};

// Command-line flags that replace config values.
struct RunOverrides {
  std::optional<uint64_t> seed;
  std::optional<int> threads;
  std::optional<int64_t> budget_evaluations;
  std::optional<std::string> sampler;
  std::optional<std::vector<std::string>> devices;
};

// Throws IoError / ConfigError naming file, line and key.
RunConfig LoadRunConfig(const std::string& path, const RunOverrides& overrides = {});
// The config a store kept for a run, for --resume.
RunConfig ParseStoredRunConfig(const std::string& text, const std::string& origin);

}  // namespace hwnas
