// Sampler overhead: ask + tell (+ store) throughput of hwnas's NSGA-II against Optuna 3.1's
// NSGAIISampler on the same 40-knob categorical space and the same cheap objectives, so the
// figure is the samplers' own cost. Prints a table with the ratio.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "bench/peer.h"
#include "core/config_node.h"
#include "search/pareto.h"
#include "search/sampler.h"
#include "store/store.h"

using namespace hwnas;

namespace {

constexpr int kKnobs = 40;
constexpr int kPopulation = 50;

int Choices(int knob) { return 2 + knob % 7; }

std::string SpaceYaml() {
  std::string yaml = "kind: categorical\nname: synthetic40\nknobs:\n";
  for (int k = 0; k < kKnobs; ++k) {
    yaml += "  - name: k" + std::to_string(k) + "\n    choices: [";
    for (int c = 0; c < Choices(k); ++c) yaml += (c ? ", " : "") + std::to_string(c);
    yaml += "]\n";
  }
  return yaml;
}

// The objectives of bench/peers/optuna_sampler_overhead.py, term for term.
Objectives Evaluate(const Candidate& c) {
  double f1 = 0, f2 = 0;
  std::vector<double> x(kKnobs);
  for (int i = 0; i < kKnobs; ++i) x[i] = c.choices[i] / double(Choices(i) - 1);
  for (int i = 0; i < kKnobs; ++i) {
    f1 += (1 + i % 5) * x[i];
    f2 += (1 + i % 3) * (1 - x[i]) + 0.5 * x[i] * x[(i + 1) % kKnobs];
  }
  return {f1, f2};
}

struct Result {
  int trials;
  double seconds;
};

// The Run's loop minus the evaluator: ask a batch, score it, store it with the front, tell.
Result RunHwnas(const SearchSpace& space, int trials, Store* store) {
  auto sampler = MakeSampler({.kind = "nsga2", .population = kPopulation}, space, 0);
  int64_t run_id = 0;
  if (store) {
    RunRecord record;
    record.config = "bench";
    record.config_path = "bench";
    record.space = "synthetic40";
    record.sampler = "nsga2";
    record.devices = "synthetic";
    run_id = store->CreateRun(record);
  }
  std::vector<Objectives> all;
  std::vector<uint64_t> hashes;
  const auto start = std::chrono::steady_clock::now();
  for (int done = 0, batch = 0; done < trials; ++batch) {
    const auto candidates = sampler->Ask(std::min(kPopulation, trials - done));
    std::vector<Observation> observations;
    std::vector<EvaluationRecord> records;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Objectives f = Evaluate(candidates[i]);
      observations.push_back({candidates[i], -f[0], {f}, 0.0});
      if (!store) continue;
      EvaluationRecord r;
      r.batch = batch;
      r.seq = static_cast<int>(i);
      r.canonical = space.Format(candidates[i]);
      r.hash = CandidateHash(r.canonical);
      r.status = "OK";
      r.accuracy = -f[0];
      r.devices.push_back({"synthetic", "OK", "", f[1], std::nullopt, "predicted"});
      all.push_back(f);
      hashes.push_back(r.hash);
      records.push_back(std::move(r));
    }
    if (store) {
      std::vector<uint64_t> front;
      for (int i : ParetoFront(all)) front.push_back(hashes[i]);
      store->WriteBatch(run_id, records, {{"synthetic", front}});
    }
    done += static_cast<int>(candidates.size());
    sampler->Tell(std::move(observations));
  }
  return {trials, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

}  // namespace

int main(int argc, char** argv) {
  const int trials = argc > 1 ? std::stoi(argv[1]) : 20000;
  const auto space = MakeSearchSpace(ConfigNode::LoadString(SpaceYaml(), "synthetic40"));
  const auto dir = std::filesystem::temp_directory_path() / "hwnas_bench_sampler_overhead";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  const Result memory = RunHwnas(*space, trials, nullptr);
  Result sqlite{};
  {
    Store store((dir / "bench.db").string(), Store::Mode::kCreateIfMissing);
    sqlite = RunHwnas(*space, trials, &store);
  }
  std::filesystem::remove_all(dir);

  const std::string peer = bench::RunPeer(
      "/usr/bin/python3 " HWNAS_SOURCE_DIR "/bench/peers/optuna_sampler_overhead.py");
  const size_t sqlite_at = peer.find("\"sqlite\"");
  const double optuna_memory = bench::JsonNumber(peer, "trials_per_s");
  const double optuna_sqlite = bench::JsonNumber(peer, "trials_per_s", sqlite_at);
  const double optuna_memory_trials = bench::JsonNumber(peer, "trials");
  const double optuna_sqlite_trials = bench::JsonNumber(peer, "trials", sqlite_at);

  std::printf("sampler_overhead: NSGA-II ask+tell, %d categorical knobs, population %d, 2 objectives\n",
              kKnobs, kPopulation);
  std::printf("| engine        | storage | trials | trials/s  | hwnas / optuna |\n");
  std::printf("|---------------|---------|--------|-----------|----------------|\n");
  const double hw_memory = memory.trials / memory.seconds;
  const double hw_sqlite = sqlite.trials / sqlite.seconds;
  std::printf("| hwnas         | memory  | %6d | %9.0f | %14.1f |\n", memory.trials, hw_memory,
              hw_memory / optuna_memory);
  std::printf("| optuna 3.1    | memory  | %6.0f | %9.1f |                |\n",
              optuna_memory_trials, optuna_memory);
  std::printf("| hwnas         | sqlite  | %6d | %9.0f | %14.1f |\n", sqlite.trials, hw_sqlite,
              hw_sqlite / optuna_sqlite);
  std::printf("| optuna 3.1    | sqlite  | %6.0f | %9.1f |                |\n",
              optuna_sqlite_trials, optuna_sqlite);
  std::printf("target: hwnas / optuna >= 100x in memory; hwnas with sqlite vs optuna in memory: %.1fx\n",
              hw_sqlite / optuna_memory);
  return 0;
}
