// Joint search against searching one dimension at a time, on the same evaluation budget, seeds,
// evaluator and devices: the hypervolume of each setting's final front (test accuracy after the
// final training x predicted latency) per device.
//   (a) joint        architecture x bits x sparsity x rank (the run's space as it is)
//   (b) arch fp32    architecture only, every layer float and dense
//   (c) arch x bits  APQ's space: architecture and bits, dense and full rank
//   (d) teacher x policy  HAQ/AMC's setting: the largest network, per-layer compression only
//   (e) uniform 8 / 4  the largest network with every layer at 8 or at 4 bits (one candidate)
//
//   joint_vs_single [--config configs/runs/fmnist.yaml] [--budget N] [--seeds 0,1]
//                   [--devices host-cpu,bitfusion] [--dir DIR]
// The teacher and supernet are cached, so only the first setting trains them. Each setting and
// seed keeps its run in DIR: the same command run again reuses the finished runs and resumes an
// interrupted one, as the full comparison takes hours.
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "search/pareto.h"
#include "search/run.h"

namespace hwnas {
namespace {

struct Setting {
  std::string name;
  std::string file;                     // names its files in --dir
  bool largest_only = false;            // architecture fixed to the largest network
  std::vector<int> fixed_bits;          // w_bits = a_bits = these; empty = as the space says
  bool dense = false;                   // sparsity 0, rank 1
};

const std::vector<Setting> kSettings = {
    {"(a) joint", "a-joint", false, {}, false},
    {"(b) arch fp32", "b-arch-fp32", false, {32}, true},
    {"(c) arch x bits", "c-arch-bits", false, {}, true},
    {"(d) teacher x policy", "d-teacher-policy", true, {}, false},
    {"(e) uniform 8-bit", "e-uniform-8", true, {8}, true},
    {"(e) uniform 4-bit", "e-uniform-4", true, {4}, true},
};

std::atomic<bool> g_stop_requested{false};
void RequestStop(int) { g_stop_requested = true; }

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return items;
}

// A choice list cut to its largest value.
YAML::Node LargestOnly(const YAML::Node& list) {
  int largest = 0;
  for (const auto& v : list) largest = std::max(largest, v.as<int>());
  YAML::Node only(YAML::NodeType::Sequence);
  only.push_back(largest);
  return only;
}

std::string WriteSpace(const std::string& base, const Setting& s, const std::string& dir) {
  YAML::Node space = YAML::LoadFile(base);
  if (s.largest_only) {
    for (const char* key : {"stem_widths", "kernels", "expansions"}) space[key] = LargestOnly(space[key]);
    for (auto stage : space["stages"]) {
      stage["depths"] = LargestOnly(stage["depths"]);
      stage["widths"] = LargestOnly(stage["widths"]);
    }
  }
  YAML::Node policy = space["policy"];
  if (!s.fixed_bits.empty()) {
    policy["w_bits"] = s.fixed_bits;
    policy["a_bits"] = s.fixed_bits;
  }
  if (s.dense) {
    policy["sparsity"] = std::vector<double>{0};
    policy["rank"] = std::vector<double>{1};
  }
  const std::string path = dir + "/" + s.file + ".space.yaml";
  std::ofstream(path) << space;
  return path;
}

// The run of `config` in `db_path`: reused when a run of the same effective config is done
// there, resumed when it was interrupted, else started. nullopt when interrupted again (Ctrl-C).
std::optional<int64_t> SettingRun(const RunConfig& config, const std::string& db_path,
                                  const std::string& label) {
  Store store(db_path, Store::Mode::kCreateIfMissing);
  std::optional<int64_t> unfinished;
  for (const RunRecord& r : store.Runs()) {
    if (r.config != config.text) continue;
    if (r.status == "done") {
      std::fprintf(stderr, "%s: reusing run %lld of %s (%lld evaluations)\n", label.c_str(),
                   static_cast<long long>(r.id), db_path.c_str(), static_cast<long long>(r.evaluations));
      return r.id;
    }
    if (r.status != "failed") unfinished = r.id;
  }
  if (unfinished) {
    std::fprintf(stderr, "%s: resuming run %lld of %s\n", label.c_str(),
                 static_cast<long long>(*unfinished), db_path.c_str());
  }
  Run search(config);
  // A line per batch: the bench's output is usually a log, and a setting takes up to an hour.
  const auto progress = [&](const RunProgress& p) {
    if (p.finished) return;  // the summary below says how it ended
    std::fprintf(stderr, "%s: %lld/%lld evaluations, best proxy %.2f, %.0f s\n", label.c_str(),
                 static_cast<long long>(p.done), static_cast<long long>(p.total), p.best_accuracy,
                 p.elapsed_seconds);
  };
  const RunSummary summary = search.Execute(store, unfinished, progress, &g_stop_requested);
  if (summary.status != "done") return std::nullopt;
  std::fprintf(stderr, "%s: %lld evaluations in %.0f s\n", label.c_str(),
               static_cast<long long>(summary.evaluations), summary.seconds);
  return summary.run_id;
}

int Main(int argc, char** argv) {
  std::string config_path = std::string(HWNAS_SOURCE_DIR) + "/configs/runs/fmnist.yaml";
  std::string seeds_text = "0,1", devices_text = "host-cpu,bitfusion";
  std::string dir = std::filesystem::temp_directory_path() / "hwnas-joint-vs-single";
  int64_t budget = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--config")) config_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--budget")) budget = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seeds")) seeds_text = argv[i + 1];
    else if (!std::strcmp(argv[i], "--devices")) devices_text = argv[i + 1];
    else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  const std::vector<std::string> devices = Split(devices_text);
  const RunConfig base = LoadRunConfig(config_path);
  std::filesystem::create_directories(dir);
  std::signal(SIGINT, RequestStop);

  // setting -> device -> the fronts of every seed, as (test accuracy, latency) points.
  std::map<std::string, std::map<std::string, std::vector<std::vector<FrontRow>>>> fronts;
  std::map<std::string, double> worst_latency;
  for (const Setting& s : kSettings) {
    const std::string space = WriteSpace(base.space_path, s, dir);
    YAML::Node run = YAML::Load(base.text);
    run["space"] = space;
    // Every setting searches from its sampler alone: the run's enqueued baselines would hand
    // (a) the answers of (e), and they are no candidates of the cut spaces.
    if (run["sampler"].IsMap()) run["sampler"].remove("enqueue");
    const std::string run_path = dir + "/" + s.file + ".run.yaml";
    std::ofstream(run_path) << run;
    for (const std::string& seed : Split(seeds_text)) {
      RunOverrides o;
      o.seed = std::stoull(seed);
      o.devices = devices;
      if (budget) o.budget_evaluations = budget;
      if (s.fixed_bits.size() == 1 && s.largest_only) o.budget_evaluations = 1;
      const std::string db_path = dir + "/" + s.file + "-" + seed + ".db";
      const std::optional<int64_t> run_id =
          SettingRun(LoadRunConfig(run_path, o), db_path, s.name + " seed " + seed);
      if (!run_id) {
        std::fprintf(stderr, "interrupted; the same command continues where this stopped\n");
        return 130;
      }
      const Store store(db_path, Store::Mode::kMustExist);
      for (const std::string& device : devices) {
        const auto rows = store.Front(*run_id, device);
        for (const auto& r : rows) worst_latency[device] = std::max(worst_latency[device], r.latency_ms);
        fronts[s.name][device].push_back(rows);
      }
    }
  }

  std::printf("joint_vs_single: %s, budget %lld, seeds %s; hypervolume of (test accuracy %%, "
              "latency ms) per device, reference (0%%, 1.1 x the slowest front member)\n",
              config_path.c_str(), static_cast<long long>(budget ? budget : base.budget_evaluations),
              seeds_text.c_str());
  std::printf("| setting | device | mean hypervolume | per seed | best test accuracy %% |\n|---|---|---|---|---|\n");
  for (const Setting& s : kSettings) {
    for (const std::string& device : devices) {
      double sum = 0, best = 0;
      std::string per_seed;
      for (const auto& rows : fronts[s.name][device]) {
        std::vector<Objectives> points;
        for (const auto& r : rows) {
          if (!r.test_accuracy) continue;
          points.push_back({-*r.test_accuracy, r.latency_ms});
          best = std::max(best, *r.test_accuracy);
        }
        const double hv = points.empty() ? 0 : Hypervolume(points, {0.0, 1.1 * worst_latency[device]});
        sum += hv;
        per_seed += (per_seed.empty() ? "" : " ") + std::to_string(hv).substr(0, 7);
      }
      std::printf("| %s | %s | %.4g | %s | %.2f |\n", s.name.c_str(), device.c_str(),
                  sum / fronts[s.name][device].size(), per_seed.c_str(), best);
    }
  }
  return 0;
}

}  // namespace
}  // namespace hwnas

int main(int argc, char** argv) { return hwnas::Main(argc, argv); }
