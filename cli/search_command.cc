#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/command.h"
#include "cli/front_table.h"
#include "cli/progress_printer.h"
#include "core/candidate.h"
#include "core/errors.h"
#include "core/paths.h"
#include "hwmodels/calibration_record.h"
#include "hwmodels/host/host_measure.h"
#include "search/run.h"

namespace hwnas {

namespace {

std::atomic<bool> g_stop_requested{false};

void RequestStop(int) {
  g_stop_requested = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// The device whose front members are also measured on this machine at the end of a run.
constexpr const char* kHostDevice = "host-cpu";

// Rounds over all front members, each member keeping its best: on shared cores the machine's
// speed drifts over seconds, and a member timed only in a slow spell would look slow.
constexpr int kMeasureRounds = 5;

// The fastest measured member within 1 point of the teacher's test accuracy, as a fraction of
// the teacher's measured latency: what a user deploying instead of the teacher gains.
void PrintHeadline(const std::vector<FrontRow>& front, const Evaluator::Teacher& teacher,
                   double teacher_ms) {
  const FrontRow* fastest = nullptr;
  double best_accuracy = 0;
  for (const FrontRow& row : front) {
    if (!row.test_accuracy || !row.measured_latency_ms) continue;
    best_accuracy = std::max(best_accuracy, *row.test_accuracy);
    if (*row.test_accuracy >= teacher.test_accuracy - 1 &&
        (!fastest || *row.measured_latency_ms < *fastest->measured_latency_ms)) {
      fastest = &row;
    }
  }
  std::cerr << kHostDevice << ": the teacher (" << FormatNumber(teacher.test_accuracy, 4)
            << "% test accuracy) measures " << FormatNumber(teacher_ms, 4) << " ms; ";
  if (!fastest) {
    std::cerr << "no front member is within 1 point of its accuracy (best "
              << FormatNumber(best_accuracy, 4) << "%)\n";
    return;
  }
  std::cerr << "the fastest front member within 1 point, " << FormatNumber(*fastest->test_accuracy, 4)
            << "%, measures " << FormatNumber(*fastest->measured_latency_ms, 4) << " ms, "
            << FormatNumber(*fastest->measured_latency_ms / teacher_ms, 3) << "x\n";
}

// Measures the host-cpu front members of a finished run on this machine, as the host deploys
// them (HostDeployable), and stores each latency with source measured beside the prediction.
// The teacher, when the evaluator has one, is timed in the same rounds for the headline.
void MeasureHostFront(const Run& run, Store& store, int64_t run_id) {
  std::vector<FrontRow> members;
  std::vector<NetworkSpec> specs;
  for (const FrontRow& row : store.Front(run_id, kHostDevice)) {
    if (row.measured_latency_ms) continue;
    members.push_back(row);
    specs.push_back(HostDeployable(run.space().Expand(run.space().Parse(row.canonical))));
  }
  if (members.empty()) return;
  const std::optional<Evaluator::Teacher> teacher = run.evaluator().teacher();
  if (teacher) specs.push_back(HostDeployable(teacher->network));
  std::cerr << "measuring the " << members.size() << " " << kHostDevice << " front members"
            << (teacher ? " and the teacher" : "") << " on this machine, " << kMeasureRounds
            << " rounds\n";
  HostMeasureOptions options;
  options.timing = {.warmups = 3, .reps = 30};
  // Stored in the statistic the device model was fitted to, so it compares with its prediction.
  const bool fitted_to_min =
      ReadCalibrationRecord(DeviceConfigPath(kHostDevice)).timing == TimingStatistic::kMin;
  const auto statistic_us = [&](const Measurement& m) { return fitted_to_min ? m.min_us : m.median_us; };
  const HostThreads threads(options.threads);
  std::vector<std::optional<Measurement>> best(specs.size());
  std::vector<bool> runnable(specs.size(), true);
  for (int round = 0; round < kMeasureRounds; ++round) {
    for (size_t i = 0; i < specs.size(); ++i) {
      if (!runnable[i]) continue;
      try {
        const Measurement net = MeasureOnHost(specs[i], options).front();
        if (!best[i] || statistic_us(net) < statistic_us(*best[i])) best[i] = net;
      } catch (const UnsupportedError& e) {
        std::cerr << "not measured: " << e.what() << "\n";
        runnable[i] = false;
      }
    }
  }
  const std::string statistic = "best of " + std::to_string(kMeasureRounds) + " rounds' " +
                                (fitted_to_min ? "min" : "median") + " of " +
                                std::to_string(options.timing.reps) + " reps";
  std::vector<double> measured_over_predicted;
  for (size_t i = 0; i < members.size(); ++i) {
    if (!best[i]) continue;
    const double measured_ms = statistic_us(*best[i]) / 1000;
    store.WriteMeasuredLatency(run_id, CandidateHash(members[i].canonical), kHostDevice, measured_ms,
                               best[i]->dtype + ", batch 1, " + statistic + ", " + best[i]->source);
    if (members[i].latency_ms > 0) measured_over_predicted.push_back(measured_ms / members[i].latency_ms);
  }
  if (const std::string warning = CalibrationDriftWarning(kHostDevice, measured_over_predicted);
      !warning.empty()) {
    std::cerr << warning << "\n";
  }
  if (teacher && best.back()) {
    PrintHeadline(store.Front(run_id, kHostDevice), *teacher, statistic_us(*best.back()) / 1000);
  }
}

RunOverrides ReadOverrides(const Args& args) {
  RunOverrides o;
  if (auto seed = args.Int("seed", 0, INT64_MAX)) o.seed = static_cast<uint64_t>(*seed);
  if (auto threads = args.Int("threads", 0, 4096)) o.threads = static_cast<int>(*threads);
  o.budget_evaluations = args.Int("budget", 1, int64_t{1} << 40);
  if (args.Has("sampler")) o.sampler = args.Choice("sampler", SamplerKinds(), "");
  if (auto devices = args.String("devices")) {
    o.devices = SplitList(*devices);
    if (o.devices->empty()) throw ConfigError("hwnas search: --devices: give at least one device");
  }
  return o;
}

int Search(const Args& args) {
  const std::string db_path = args.String("db").value_or("hwnas.db");
  const RunOverrides overrides = ReadOverrides(args);
  std::optional<int64_t> resume_id;
  RunConfig config;
  std::unique_ptr<Store> store;
  if (args.Has("resume")) {
    if (overrides.seed || overrides.budget_evaluations || overrides.sampler || overrides.devices) {
      throw ConfigError("hwnas search --resume: only --threads may change; the run's config is "
                        "stored in " + db_path);
    }
    store = std::make_unique<Store>(db_path, Store::Mode::kMustExist);
    RunRecord run;
    if (auto id = args.Int("run", 1, INT64_MAX)) {
      run = store->Run(*id);
      if (run.status == "done") {
        throw ConfigError(db_path + ": run " + std::to_string(*id) + " is already done");
      }
    } else {
      auto latest = store->LatestUnfinishedRun();
      if (!latest) throw ConfigError(db_path + ": no unfinished run to resume");
      run = *latest;
    }
    config = ParseStoredRunConfig(run.config, run.config_path);
    if (auto path = args.String("config")) {
      if (LoadRunConfig(*path).text != config.text) {
        throw ConfigError(*path + ": run " + std::to_string(run.id) +
                          " was started with a different config; resume without --config to "
                          "use the one stored with the run");
      }
    }
    if (overrides.threads) config.threads = *overrides.threads;
    resume_id = run.id;
    std::cerr << "resuming run " << run.id << " (" << run.evaluations
              << " evaluations stored)\n";
  } else {
    config = LoadRunConfig(args.Require("config"), overrides);
  }
  // Everything is validated before the database is created or touched.
  ProgressPrinter printer(stderr);
  Run run(config, [&](std::string_view stage, int64_t done, int64_t total) {
    printer.Stage(stage, done, total);
  });
  if (!store) store = std::make_unique<Store>(db_path, Store::Mode::kCreateIfMissing);

  std::signal(SIGINT, RequestStop);
  const RunSummary summary = run.Execute(*store, resume_id, std::ref(printer), &g_stop_requested);
  std::signal(SIGINT, SIG_DFL);
  if (summary.status == "done") MeasureHostFront(run, *store, summary.run_id);

  const std::string format = args.Choice("format", kOutputFormats, "table");
  FrontTable(store->Front(summary.run_id, "")).Print(std::cout, format);
  std::cerr << "run " << summary.run_id << " " << summary.status << ": "
            << summary.evaluations << " evaluations (" << summary.failures << " FAIL) in "
            << FormatNumber(summary.seconds, 3) << " s; results in " << db_path << "\n";
  if (summary.status == "interrupted") {
    std::cerr << "continue with: hwnas search --db " << db_path << " --resume\n";
    return 130;
  }
  std::cerr << "query with:    hwnas query pareto --db " << db_path << " --run "
            << summary.run_id << " --device " << run.devices().front()->name() << "\n";
  return 0;
}

}  // namespace

Command SearchCommand() {
  return {"search",
          "run a search: sample, evaluate, cost on every device, store the fronts",
          {{"config", "FILE", "run config YAML (configs/runs/quickstart.yaml)"},
           {"db", "FILE", "results database, created if missing (default hwnas.db)"},
           {"seed", "N", "random seed (overrides the config)"},
           {"threads", "N", "worker threads, 0 = every core (overrides the config)"},
           {"budget", "N", "number of evaluations (overrides the config)"},
           {"sampler", "KIND", JoinNames(SamplerKinds(), " | ") + " (overrides the config)"},
           {"devices", "A,B", "device names (overrides the config)"},
           {"resume", "", "continue the newest unfinished run in --db"},
           {"run", "ID", "with --resume: the run to continue"},
           {"format", "FMT", "front output: table | csv | json (default table)"}},
          Search};
}

}  // namespace hwnas
