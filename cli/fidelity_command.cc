// `hwnas fidelity`: how well a run's proxy ranks candidates. N random candidates of the run's
// space are scored twice: by the run's evaluator (the proxy), and by the same evaluator training
// from scratch (`init: scratch`), the reference: full training, as many epochs as the teacher's,
// or `--scale` times the proxy's steps. Prints both per candidate, Kendall's tau and Spearman's
// rho between them, and the proxy's cost as a share of the reference's. With --pairs, every pair
// is kept in a file as it finishes and a rerun resumes from it: full training takes hours.
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "cli/progress_printer.h"
#include "cli/table_output.h"
#include "core/atomic_file.h"
#include "core/csv_table.h"
#include "core/errors.h"
#include "core/rank_correlation.h"
#include "core/rng.h"
#include "core/stable_hash.h"
#include "search/run.h"

namespace hwnas {

namespace {

// The run's evaluator mapping with the reference's changes: from scratch, and either `scale`
// times the proxy's steps or, without one, full training: as many epochs as the teacher's.
ConfigNode ReferenceEvaluator(const RunConfig& config, std::optional<int64_t> scale) {
  const ConfigNode proxy = config.Evaluator();
  if (proxy.String("kind") != "distill") {
    proxy.Fail("hwnas fidelity needs an evaluator of kind distill (a proxy that trains)");
  }
  YAML::Node node = YAML::Clone(proxy.yaml());
  node["init"] = "scratch";
  if (scale) {
    const int64_t steps =
        proxy.Has("proxy") ? proxy.Child("proxy").Int("steps", 1, 10000000, 100) : 100;
    node["proxy"]["steps"] = steps * *scale;
  } else {
    node["proxy"].remove("steps");
    node["proxy"]["epochs"] = DistillTeacherEpochs(proxy);
  }
  YAML::Node root;
  root["evaluator"] = node;
  return ConfigNode::LoadString(YAML::Dump(root), config.origin).Child("evaluator");
}

// One candidate scored both ways; `done` once both finished (or one failed).
struct FidelityPair {
  EvalResult proxy, reference;
  bool done = false;
};

// The pairs file: every scored pair, rewritten whole as each finishes, so an interrupted
// comparison resumes where it stopped. `setup` identifies the proxy and reference evaluators.
const std::vector<Column> kPairColumns = {
    {"candidate", true},      {"canonical", false},   {"status", false},
    {"proxy_accuracy", true}, {"proxy_s", true},      {"proxy_steps", true},
    {"reference_accuracy", true}, {"reference_s", true}, {"reference_steps", true},
    {"error", false},         {"setup", false}};

std::string FidelitySetup(const ConfigNode& proxy, const ConfigNode& reference) {
  return StableHashHex(YAML::Dump(proxy.yaml()) + "\n---\n" + YAML::Dump(reference.yaml()));
}

void SavePairs(const std::string& path, const std::string& setup,
               const std::vector<NetworkSpec>& specs, const std::vector<FidelityPair>& pairs) {
  TableOutput table(kPairColumns);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const FidelityPair& p = pairs[i];
    if (!p.done) continue;
    const bool ok = p.proxy.ok() && p.reference.ok();
    auto number = [&](double value) { return ok ? FormatNumber(value, 10) : std::string(); };
    auto steps = [&](const EvalResult& r) { return number(ok ? r.metrics.at("steps") : 0); };
    table.AddRow({std::to_string(i), specs[i].key, ok ? "OK" : "FAIL",
                  number(p.proxy.accuracy), number(p.proxy.seconds), steps(p.proxy),
                  number(p.reference.accuracy), number(p.reference.seconds), steps(p.reference),
                  p.proxy.error + p.reference.error, setup});
  }
  std::ostringstream text;
  table.Print(text, "csv");
  WriteFileAtomically(path, text.str());
}

// The pairs a file holds for these candidates. A row from other evaluators or other candidates
// is an error naming its line: mixing them would corrupt the correlation.
void LoadPairs(const std::string& path, const std::string& setup,
               const std::vector<NetworkSpec>& specs, std::vector<FidelityPair>& pairs) {
  const CsvTable csv = CsvTable::Load(path);
  auto column = [&](const char* name) { return csv.Column(name); };
  auto number = [&](size_t row, const char* name) {
    const std::optional<double> value = csv.Number(row, column(name));
    if (!value) throw IoError(csv.Where(row) + ": " + name + " is empty in an OK pair");
    return *value;
  };
  for (size_t row = 0; row < csv.rows(); ++row) {
    const std::optional<double> index = csv.Number(row, column("candidate"));
    if (!index || *index < 0 || *index != std::floor(*index)) {
      throw IoError(csv.Where(row) + ": candidate must be an index (0, 1, ...)");
    }
    const auto i = static_cast<size_t>(*index);
    if (i >= specs.size()) continue;  // beyond this run's --samples
    if (csv.Cell(row, column("canonical")) != specs[i].key) {
      throw ConfigError(csv.Where(row) + ": candidate " + std::to_string(i) +
                        " is another network than this --seed samples from this space; name "
                        "another --pairs file");
    }
    if (csv.Cell(row, column("setup")) != setup) {
      throw ConfigError(csv.Where(row) + ": scored by another evaluator or --scale than this "
                        "run's (setup " + csv.Cell(row, column("setup")) + ", here " + setup +
                        "); name another --pairs file");
    }
    const std::string& status = csv.Cell(row, column("status"));
    if (status != "OK" && status != "FAIL") {
      throw IoError(csv.Where(row) + ": status must be OK or FAIL, not '" + status + "'");
    }
    FidelityPair& p = pairs[i];
    p.done = true;
    if (status == "FAIL") {
      p.proxy.error = csv.Cell(row, column("error"));
      continue;
    }
    p.proxy = {EvalStatus::kOk, number(row, "proxy_accuracy"),
               {{"steps", number(row, "proxy_steps")}}, "", number(row, "proxy_s")};
    p.reference = {EvalStatus::kOk, number(row, "reference_accuracy"),
                   {{"steps", number(row, "reference_steps")}}, "", number(row, "reference_s")};
  }
}

int Fidelity(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const RunConfig config = LoadRunConfig(args.Require("config"));
  const int64_t samples = args.Int("samples", 3, 100000).value_or(30);
  const std::optional<int64_t> scale = args.Int("scale", 1, 1000);
  const uint64_t seed = static_cast<uint64_t>(args.Int("seed", 0, INT64_MAX).value_or(0));
  const std::optional<std::string> pairs_path = args.String("pairs");
  const auto space = LoadSearchSpace(config.space_path);
  const ConfigNode reference_config = ReferenceEvaluator(config, scale);
  const std::string setup = FidelitySetup(config.Evaluator(), reference_config);

  Rng rng(seed);
  const std::vector<NetworkSpec> specs = DistinctSampledNetworks(*space, static_cast<size_t>(samples), rng);
  std::vector<FidelityPair> pairs(specs.size());
  ProgressPrinter printer(stderr);
  // Checked before the teacher and supernet load, so a wrong file fails at once.
  if (pairs_path && std::filesystem::exists(*pairs_path)) {
    LoadPairs(*pairs_path, setup, specs, pairs);
    const auto restored = std::count_if(pairs.begin(), pairs.end(), [](const auto& p) { return p.done; });
    printer.Note("fidelity: " + std::to_string(restored) + " of " + std::to_string(samples) +
                 " candidates already scored in " + *pairs_path);
  }
  // Written at once, so a path that cannot be written fails now, not after the first hour.
  if (pairs_path) SavePairs(*pairs_path, setup, specs, pairs);
  std::vector<size_t> pending;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (!pairs[i].done) pending.push_back(i);
  }

  const EvaluatorContext context = MakeEvaluatorContext(
      *space,
      [&](std::string_view stage, int64_t done, int64_t total) { printer.Stage(stage, done, total); });
  const auto proxy = MakeEvaluator(config.Evaluator(), context);
  const auto reference = MakeEvaluator(reference_config, context);

  // Costliest first, each taken by whichever thread is free: the references' times span 50x,
  // and pairs in fixed batches left a thread idle while a large one finished. The order changes
  // no result: every candidate trains alone from its own seed.
  std::stable_sort(pending.begin(), pending.end(),
                   [&](size_t a, size_t b) { return specs[a].Macs() > specs[b].Macs(); });
  int64_t done = samples - static_cast<int64_t>(pending.size());
  printer.Stage("fidelity", done, samples);
  std::mutex finishing;  // guards `done` flags, the file and the printer
  tbb::parallel_for(
      size_t{0}, pending.size(),
      [&](size_t k) {
        FidelityPair& p = pairs[pending[k]];
        // Isolated: a thread waiting inside this training must not start another candidate,
        // whose time would be counted in this one's seconds.
        tbb::this_task_arena::isolate([&] {
          p.proxy = proxy->Evaluate(specs[pending[k]]);
          p.reference = reference->Evaluate(specs[pending[k]]);
        });
        const std::lock_guard lock(finishing);
        p.done = true;
        const std::string name = "candidate " + std::to_string(pending[k]);
        if (!p.proxy.ok() || !p.reference.ok()) {
          printer.Note(name + " failed: " + p.proxy.error + p.reference.error);
        } else {
          printer.Note(name + ": proxy " + FormatNumber(p.proxy.accuracy) + " in " +
                       FormatNumber(p.proxy.seconds, 3) + " s, reference " +
                       FormatNumber(p.reference.accuracy) + " in " +
                       FormatNumber(p.reference.seconds, 3) + " s");
        }
        if (pairs_path) SavePairs(*pairs_path, setup, specs, pairs);
        printer.Stage("fidelity", ++done, samples);
      },
      tbb::simple_partitioner());

  TableOutput table({{"candidate", true}, {"proxy_accuracy", true}, {"reference_accuracy", true},
                     {"proxy_s", true}, {"reference_s", true}});
  std::vector<double> a, b;
  double proxy_seconds = 0, reference_seconds = 0, steps_ratio = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const FidelityPair& p = pairs[i];
    if (!p.proxy.ok() || !p.reference.ok()) continue;  // reported as it happened
    steps_ratio = p.reference.metrics.at("steps") / p.proxy.metrics.at("steps");
    a.push_back(p.proxy.accuracy);
    b.push_back(p.reference.accuracy);
    proxy_seconds += p.proxy.seconds;
    reference_seconds += p.reference.seconds;
    table.AddRow({std::to_string(i), FormatNumber(a.back()), FormatNumber(b.back()),
                  FormatNumber(p.proxy.seconds, 3), FormatNumber(p.reference.seconds, 3)});
  }
  if (a.size() < 3) throw UnsupportedError("hwnas fidelity: fewer than 3 candidates scored");
  table.Print(std::cout, format);
  TableOutput summary({{"candidates", true}, {"kendall_tau", true}, {"spearman_rho", true},
                       {"reference_steps_x", true}, {"proxy_cost_share", true}});
  summary.AddRow({std::to_string(a.size()), FormatNumber(KendallTau(a, b), 4),
                  FormatNumber(SpearmanRho(a, b), 4), FormatNumber(steps_ratio, 4),
                  FormatNumber(proxy_seconds / reference_seconds, 4)});
  std::cout << "\n";
  summary.Print(std::cout, format);
  return 0;
}

}  // namespace

Command FidelityCommand() {
  return {"fidelity",
          "rank agreement of a run's proxy with longer training from scratch, on random candidates",
          {{"config", "FILE", "a run YAML whose evaluator is of kind distill (required)"},
           {"samples", "N", "random candidates scored (default 30)"},
           {"scale", "K", "the reference trains K times the proxy's steps (default: full "
                          "training, as many epochs as the teacher)"},
           {"seed", "N", "which candidates (default 0)"},
           {"pairs", "FILE", "keep every scored pair in FILE (CSV), and resume from it: "
                             "candidates it holds are not scored again"},
           kFormatFlag},
          Fidelity};
}

}  // namespace hwnas
