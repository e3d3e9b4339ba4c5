// Front recovery on NAS-Bench-201: for each device, the exact front of (error, latency) over all
// 15,625 architectures and its hypervolume; then, for each sampler, how many distinct
// evaluations it needs to reach 99% of that hypervolume (median and interquartile range over
// seeds), beside Optuna 3.1's NSGAIISampler and multi-objective TPESampler on the identical
// problem (bench/peers/optuna_front_recovery.py, given the same reference point and target).
//
// usage: front_recovery [--seeds N] [--first-seed N] [--per-seed]
//                       [--dataset cifar10|cifar100|imagenet16_120]
//                       [--energy] [--devices a,b] [--max-evals N] [--skip-optuna]
//                       [--guided-warmup N] [--guided-pool N]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "bench/peer.h"
#include "core/config_node.h"
#include "core/paths.h"
#include "evaluator/evaluator.h"
#include "hwmodels/device_model.h"
#include "search/pareto.h"
#include "search/sampler.h"

using namespace hwnas;

namespace {

struct Options {
  int seeds = 10;
  int first_seed = 0;
  bool per_seed = false;
  std::string dataset = "cifar10";
  bool energy = false;
  std::vector<std::string> devices = {"edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"};
  int max_evals = 3000;
  bool optuna = true;
  int guided_warmup = SamplerOptions{}.warmup;
  int guided_pool = SamplerOptions{}.pool;
};

constexpr const char* kUsage =
    "usage: front_recovery [--seeds N] [--first-seed N] [--per-seed]\n"
    "                      [--dataset cifar10|cifar100|imagenet16_120] [--energy]\n"
    "                      [--devices a,b] [--max-evals N] [--skip-optuna] [--guided-warmup N]\n"
    "                      [--guided-pool N]\n";

// A flag error: one line and exit 2, as every hwnas command does.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int IntAtLeast(const std::string& flag, const std::string& text, int least) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < least) {
    throw UsageError(flag + ": give an integer of at least " + std::to_string(least) + ", not '" +
                     text + "'");
  }
  return value;
}

int PositiveInt(const std::string& flag, const std::string& text) {
  return IntAtLeast(flag, text, 1);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (arg == "--seeds") o.seeds = PositiveInt(arg, next());
    else if (arg == "--first-seed") o.first_seed = IntAtLeast(arg, next(), 0);
    else if (arg == "--per-seed") o.per_seed = true;
    else if (arg == "--dataset") o.dataset = next();
    else if (arg == "--energy") o.energy = true;
    else if (arg == "--max-evals") o.max_evals = PositiveInt(arg, next());
    else if (arg == "--skip-optuna") o.optuna = false;
    else if (arg == "--guided-warmup") o.guided_warmup = PositiveInt(arg, next());
    else if (arg == "--guided-pool") o.guided_pool = PositiveInt(arg, next());
    else if (arg == "--devices") {
      o.devices.clear();
      std::stringstream in(next());
      for (std::string d; std::getline(in, d, ',');) o.devices.push_back(d);
    } else {
      throw UsageError("unknown argument " + arg +
                       "; valid: --seeds --first-seed --per-seed --dataset --energy --devices"
                       " --max-evals --skip-optuna --guided-warmup --guided-pool");
    }
  }
  return o;
}

// One device's problem: every architecture's objectives, nullopt where it has no valid value.
struct Problem {
  std::string device;
  std::unordered_map<std::string, std::optional<Objectives>> table;
  Objectives reference;
  double exact_hv = 0;
  size_t front_size = 0;
};

std::string Join(const Objectives& values) {
  std::string text;
  for (double v : values) {
    char number[40];
    std::snprintf(number, sizeof number, "%.17g", v);
    // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on the concatenated form.
    if (!text.empty()) text += ',';
    text += number;
  }
  return text;
}

// Distinct evaluations until the evaluated set reaches 99% of the exact hypervolume.
std::optional<int> EvalsTo99(const Problem& p, const SearchSpace& space,
                             const SamplerOptions& options, int batch_size, uint64_t seed,
                             int max_evals) {
  // The device model answers before evaluation: the costs are known, the accuracy is not.
  auto costs = [&](const Candidate& c) {
    CostPreview preview;
    const auto& objectives = p.table.at(space.Format(c));
    preview.per_device.push_back(objectives ? std::optional<Objectives>(Objectives(
                                                  objectives->begin() + 1, objectives->end()))
                                            : std::nullopt);
    return preview;
  };
  auto sampler = MakeSampler(options, space, seed, costs);
  std::vector<Objectives> front;
  int evals = 0;
  while (evals < max_evals) {
    const auto batch = sampler->Ask(static_cast<size_t>(batch_size));
    if (batch.empty()) return std::nullopt;
    std::vector<Observation> observations;
    std::optional<int> reached;
    for (const auto& c : batch) {
      const auto& objectives = p.table.at(space.Format(c));
      observations.push_back({c,
                              objectives ? std::optional<double>(100.0 - (*objectives)[0])
                                         : std::nullopt,
                              {objectives},
                              0.0});
      ++evals;
      if (reached || !objectives) continue;
      bool dominated = false;
      for (const auto& f : front) dominated = dominated || Dominates(f, *objectives) || f == *objectives;
      if (dominated) continue;
      std::erase_if(front, [&](const Objectives& f) { return Dominates(*objectives, f); });
      front.push_back(*objectives);
      if (Hypervolume(front, p.reference) >= 0.99 * p.exact_hv) reached = evals;
    }
    if (reached) return reached;
    sampler->Tell(std::move(observations));
  }
  return std::nullopt;
}

struct Quartiles {
  double q25, median, q75;
};

// A run that never reached the target counts as infinitely many evaluations.
Quartiles Spread(const std::vector<std::optional<int>>& runs) {
  std::vector<double> values;
  for (const auto& r : runs) values.push_back(r ? *r : INFINITY);
  std::sort(values.begin(), values.end());
  auto quantile = [&](double q) {
    const double at = q * (values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(at));
    const size_t hi = static_cast<size_t>(std::ceil(at));
    if (values[lo] == values[hi]) return values[lo];
    return values[lo] + (values[hi] - values[lo]) * (at - lo);
  };
  return {quantile(0.25), quantile(0.5), quantile(0.75)};
}

std::string Summary(const Quartiles& q) {
  auto show = [](double v) { return std::isfinite(v) ? std::to_string(std::lround(v)) : std::string(">max"); };
  return show(q.median) + " [" + show(q.q25) + "-" + show(q.q75) + "]";
}

// Optuna's samplers as the peer script runs them: label, flags.
constexpr std::pair<const char*, const char*> kOptunaRuns[] = {
    {"optuna NSGAII(pop 20)", " --samplers nsga2 --nsga2-population 20"},
    {"optuna NSGAII(pop 50)", " --samplers nsga2 --nsga2-population 50"},
    {"optuna TPE", " --samplers tpe"}};

// One sampler's runs on one device, kept for --per-seed.
struct SeedRuns {
  std::string device, sampler;
  std::vector<std::optional<int>> runs;
};

void PrintPerSeed(const std::vector<SeedRuns>& all, int first_seed, int seeds) {
  std::printf(
      "\nDistinct evaluations to 99%% of the exact hypervolume, per seed (>max: not reached)\n");
  std::printf("| device | sampler |");
  for (int seed = first_seed; seed < first_seed + seeds; ++seed) std::printf(" %d |", seed);
  std::printf("\n");
  for (const auto& r : all) {
    std::printf("| %s | %s |", r.device.c_str(), r.sampler.c_str());
    for (const auto& evals : r.runs) {
      std::printf(" %s |", evals ? std::to_string(*evals).c_str() : ">max");
    }
    std::printf("\n");
  }
}

}  // namespace

int Run(const Options& options) {
  const std::string home = HWNAS_SOURCE_DIR;
  const auto space = LoadSearchSpace(home + "/configs/spaces/nb201.yaml");
  const auto evaluator = MakeEvaluator(
      ConfigNode::LoadString("evaluator: {kind: tabular, file: data/nas-bench-201/nb201_test_accuracy.csv, dataset: " +
                                 options.dataset + "}",
                             home + "/bench.yaml")
          .Child("evaluator"));

  // Every architecture, in index order of the base-5 choice digits.
  std::vector<Candidate> all;
  for (int index = 0; index < 15625; ++index) {
    Candidate c;
    for (int k = 0, rest = index; k < 6; ++k, rest /= 5) c.choices.push_back(rest % 5);
    all.push_back(c);
  }

  std::vector<Problem> problems;
  for (const auto& name : options.devices) {
    const auto device = LoadDeviceModel(DeviceConfigPath(name));
    Problem p{name, {}, {}, 0, 0};
    std::vector<Objectives> valid;
    for (const auto& c : all) {
      const NetworkSpec spec = space->Expand(c);
      const EvalResult eval = evaluator->Evaluate(spec);
      const DeviceCost cost = device->Cost(spec);
      std::optional<Objectives> objectives;
      if (eval.ok() && cost.ok && (!options.energy || cost.energy_mj)) {
        objectives = Objectives{100.0 - eval.accuracy, cost.latency_ms};
        if (options.energy) objectives->push_back(*cost.energy_mj);
        valid.push_back(*objectives);
      }
      p.table[spec.key] = objectives;
    }
    p.reference = valid[0];
    for (const auto& v : valid) {
      for (size_t i = 0; i < v.size(); ++i) p.reference[i] = std::max(p.reference[i], v[i]);
    }
    const auto front = ParetoFront(valid);
    std::vector<Objectives> front_points;
    for (int i : front) front_points.push_back(valid[i]);
    p.exact_hv = Hypervolume(front_points, p.reference);
    p.front_size = front.size();
    problems.push_back(std::move(p));
  }

  struct Contender {
    std::string label;
    SamplerOptions options;
    int batch;
  };
  const std::vector<Contender> contenders = {
      {"random", {.kind = "random"}, 20},
      {"nsga2", {.kind = "nsga2", .population = 20}, 20},
      {"evolution", {.kind = "evolution", .population = 20, .tournament = 5}, 20},
      {"guided",
       {.kind = "guided", .warmup = options.guided_warmup, .pool = options.guided_pool},
       1},
  };

  std::printf("front_recovery: NAS-Bench-201, %s accuracy x %s, distinct evaluations to 99%% of the "
              "exact front's hypervolume, median [IQR] over %d seeds from %d (cap %d)\n",
              options.dataset.c_str(), options.energy ? "latency x energy" : "latency",
              options.seeds, options.first_seed, options.max_evals);
  std::vector<SeedRuns> per_seed;
  std::printf("| device | front | exact HV | ref (err,lat%s) |", options.energy ? ",energy" : "");
  for (const auto& c : contenders) std::printf(" hwnas %s |", c.label.c_str());
  if (options.optuna) {
    for (const auto& run : kOptunaRuns) std::printf(" %s |", run.first);
    std::printf(" guided / best optuna |");
  }
  std::printf("\n");
  for (const auto& p : problems) {
    std::printf("| %s | %zu | %.6g | %s |", p.device.c_str(), p.front_size, p.exact_hv,
                Join(p.reference).c_str());
    double guided_median = INFINITY;
    for (const auto& c : contenders) {
      std::vector<std::optional<int>> runs;
      for (int seed = options.first_seed; seed < options.first_seed + options.seeds; ++seed) {
        runs.push_back(EvalsTo99(p, *space, c.options, c.batch, static_cast<uint64_t>(seed),
                                 options.max_evals));
      }
      const Quartiles spread = Spread(runs);
      per_seed.push_back({p.device, "hwnas " + c.label, runs});
      if (c.options.kind == "guided") guided_median = spread.median;
      std::printf(" %s |", Summary(spread).c_str());
    }
    if (options.optuna) {
      const std::string base = "/usr/bin/python3 " + home + "/bench/peers/optuna_front_recovery.py" +
                               " --device " + p.device + " --dataset " + options.dataset +
                               (options.energy ? " --energy" : "") + " --ref " + Join(p.reference) +
                               " --target-hv " + Join({p.exact_hv}) + " --seeds " +
                               std::to_string(options.seeds) + " --first-seed " +
                               std::to_string(options.first_seed) + " --max-evals " +
                               std::to_string(options.max_evals) + " --jobs 2";
      double best_optuna = INFINITY;
      for (const auto& [label, flags] : kOptunaRuns) {
        const std::string out = bench::RunPeer(base + flags);
        std::vector<std::optional<int>> runs;
        std::stringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
          if (line.empty()) continue;
          const double evals = bench::JsonNumber(line, "evals_to_99");
          runs.push_back(std::isnan(evals) ? std::nullopt : std::optional<int>(static_cast<int>(evals)));
        }
        const Quartiles spread = Spread(runs);
        per_seed.push_back({p.device, label, runs});
        best_optuna = std::min(best_optuna, spread.median);
        std::printf(" %s |", Summary(spread).c_str());
      }
      if (std::isfinite(best_optuna)) {
        std::printf(" %.2fx |", guided_median / best_optuna);
      } else if (!std::isfinite(guided_median)) {
        std::printf(" n/a (none reached it) |");
      } else {
        // No Optuna sampler reached it within the cap: the ratio is below guided / cap.
        std::printf(" <%.2fx |", guided_median / options.max_evals);
      }
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  if (options.per_seed) PrintPerSeed(per_seed, options.first_seed, options.seeds);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(ParseOptions(argc, argv));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "front_recovery: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "front_recovery: %s\n", e.what());
    return 1;
  }
}
