#include "search/run.h"

#include <gtest/gtest.h>

#include <set>

#include "core/csv_table.h"
#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::EvaluationRows;
using test::FrontMembers;
using test::RunYaml;
using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

struct Executed {
  RunSummary summary;
  std::vector<EvaluationRecord> rows;
  std::map<std::string, std::set<std::string>> fronts;
};

Executed Execute(const RunConfig& config, Store& store,
                 std::optional<int64_t> resume = std::nullopt,
                 const std::function<void(const RunProgress&)>& progress = {},
                 const std::atomic<bool>* stop = nullptr) {
  Run run(config);
  Executed e;
  e.summary = run.Execute(store, resume, progress, stop);
  e.rows = store.RunEvaluations(e.summary.run_id);
  e.fronts = FrontMembers(store, e.summary.run_id);
  return e;
}

Executed ExecuteInMemory(const RunConfig& config) {
  Store store(":memory:", Store::Mode::kCreateIfMissing);
  return Execute(config, store);
}

RunConfig Quickstart(RunOverrides overrides) {
  return LoadRunConfig(SourcePath("configs/runs/quickstart.yaml"), overrides);
}

// Brute-force front over the stored rows of one device: accuracy up, latency down, only
// evaluations and device results that are OK.
std::set<std::string> BruteForceFront(const std::vector<EvaluationRecord>& rows,
                                      const std::string& device) {
  std::vector<std::vector<double>> points;
  std::vector<std::string> names;
  for (const auto& r : rows) {
    if (r.status != "OK") continue;
    for (const auto& d : r.devices) {
      if (d.device == device && d.status == "OK") {
        points.push_back({-r.accuracy, d.latency_ms});
        names.push_back(r.canonical);
      }
    }
  }
  std::set<std::string> front;
  for (int i : test::BruteFront(points)) front.insert(names[i]);
  return front;
}

TEST(Run, IdenticalWithOneAndTwoThreads) {
  const Executed one = ExecuteInMemory(Quickstart({.threads = 1, .budget_evaluations = 300}));
  const Executed two = ExecuteInMemory(Quickstart({.threads = 2, .budget_evaluations = 300}));
  ASSERT_EQ(one.rows.size(), 300u);
  EXPECT_EQ(EvaluationRows(one.rows), EvaluationRows(two.rows));
  EXPECT_EQ(one.fronts, two.fronts);
  EXPECT_EQ(one.fronts.size(), 6u);
}

TEST(Run, StoredFrontsAreTheBruteForceFronts) {
  const Executed run = ExecuteInMemory(Quickstart({}));
  ASSERT_EQ(run.rows.size(), 1000u);
  for (const std::string device : {"edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"}) {
    const auto expected = BruteForceFront(run.rows, device);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(run.fronts.count(device) ? run.fronts.at(device) : std::set<std::string>{}, expected)
        << device;
  }
}

TEST(Run, DeviceFailuresAreStoredNotThrown) {
  // HW-NAS-Bench marks edgetpu architectures it could not measure with -1.
  TempDir dir;
  const RunConfig config =
      LoadRunConfig(RunYaml{.sampler = "random", .budget = 2000, .batch = 100, .seed = 5}.WriteTo(
          dir, "fixture_run.yaml"));
  Store store(":memory:", Store::Mode::kCreateIfMissing);
  const Executed run = Execute(config, store);
  EXPECT_EQ(run.summary.status, "done");
  EXPECT_EQ(store.Run(run.summary.run_id).status, "done");
  ASSERT_EQ(run.rows.size(), 2000u);

  const CsvTable table = CsvTable::Load(SourcePath("data/hw-nas-bench/nb201_cifar10_hw.csv"));
  std::map<std::string, std::optional<double>> tpu;
  for (size_t row = 0; row < table.rows(); ++row) {
    tpu[table.Cell(row, table.Column("arch_str"))] =
        table.Number(row, table.Column("edgetpu_latency_ms"));
  }
  int failures = 0;
  for (const auto& r : run.rows) {
    ASSERT_EQ(r.devices.size(), 2u);
    const DeviceRecord& d = r.devices[1];
    ASSERT_EQ(d.device, "edgetpu");
    const auto measured = tpu.at(r.canonical);
    if (!measured || *measured == -1) {
      ++failures;
      EXPECT_EQ(d.status, "FAIL") << r.canonical;
      EXPECT_EQ(d.error, "edgetpu: no valid latency measured for this architecture");
    } else {
      EXPECT_EQ(d.status, "OK") << r.canonical;
      EXPECT_EQ(d.latency_ms, *measured);
    }
  }
  EXPECT_GT(failures, 100);  // about 44% of the table has no edgetpu value
}

TEST(Run, EvaluationFailuresAreStoredNotThrown) {
  // An accuracy table that knows only two architectures: every other evaluation is a FAIL row.
  TempDir dir;
  const std::set<std::string> known = {
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "skip_connect~2|",
      "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"};
  dir.Write("fixture_accuracy.csv",
            "arch_str,cifar10_test_acc\n" + *known.begin() + ",93.5\n" + *known.rbegin() + ",10\n");
  RunYaml yaml{.sampler = "random", .budget = 40, .batch = 8};
  yaml.accuracy_csv = dir.File("fixture_accuracy.csv");
  Store store(":memory:", Store::Mode::kCreateIfMissing);
  const Executed run = Execute(LoadRunConfig(yaml.WriteTo(dir, "fixture_run.yaml")), store);
  EXPECT_EQ(run.summary.status, "done");
  EXPECT_EQ(run.rows.size(), 40u);
  int failures = 0;
  for (const auto& r : run.rows) {
    if (r.status == "FAIL") {
      ++failures;
      EXPECT_EQ(r.error, "no accuracy in the table for " + r.canonical);
    }
  }
  EXPECT_GE(failures, 38);
  EXPECT_EQ(run.summary.failures, failures);
  EXPECT_EQ(store.Run(run.summary.run_id).failures, failures);
  // Only evaluations that succeeded can be front members.
  for (const auto& [device, members] : run.fronts) {
    for (const auto& m : members) EXPECT_TRUE(known.count(m)) << device << ": " << m;
  }
}

TEST(Run, BudgetIsRespectedExactly) {
  TempDir dir;
  for (int64_t budget : {1, 49, 50, 51, 137}) {
    const RunConfig config =
        LoadRunConfig(RunYaml{.budget = budget, .batch = 50}.WriteTo(dir, "fixture_budget.yaml"));
    Store store(":memory:", Store::Mode::kCreateIfMissing);
    const Executed run = Execute(config, store);
    ASSERT_EQ(run.rows.size(), static_cast<size_t>(budget));
    EXPECT_EQ(run.summary.evaluations, budget);
    EXPECT_EQ(store.Run(run.summary.run_id).evaluations, budget);
    // Full batches of 50, then the rest; positions 0..n-1 within each.
    for (size_t i = 0; i < run.rows.size(); ++i) {
      EXPECT_EQ(run.rows[i].batch, static_cast<int>(i / 50));
      EXPECT_EQ(run.rows[i].seq, static_cast<int>(i % 50));
    }
  }
}

TEST(Run, ConstrainedFrontsHoldOnlyFeasibleMembers) {
  TempDir dir;
  RunYaml yaml{.budget = 500};
  yaml.extra = "constraints:\n  - {device: edgegpu, max_latency_ms: 2.5}\n";
  Store store(":memory:", Store::Mode::kCreateIfMissing);
  const Executed run = Execute(LoadRunConfig(yaml.WriteTo(dir, "fixture_constrained.yaml")), store);
  std::vector<EvaluationRecord> feasible;
  for (const auto& r : run.rows) {
    if (r.devices[0].status == "OK" && r.devices[0].latency_ms <= 2.5) feasible.push_back(r);
  }
  ASSERT_FALSE(feasible.empty());
  EXPECT_EQ(run.fronts.at("edgegpu"), BruteForceFront(feasible, "edgegpu"));
  EXPECT_EQ(run.fronts.at("edgetpu"), BruteForceFront(feasible, "edgetpu"));
}

TEST(Run, ResumeAfterStopEqualsAnUninterruptedRun) {
  const RunConfig config = Quickstart({.budget_evaluations = 400});
  const Executed whole = ExecuteInMemory(config);

  TempDir dir;
  Store store(dir.File("fixture_resume.db"), Store::Mode::kCreateIfMissing);
  std::atomic<bool> stop{false};
  const Executed first = Execute(
      config, store, std::nullopt, [&](const RunProgress& p) { stop = stop || p.done >= 150; },
      &stop);
  EXPECT_EQ(first.summary.status, "interrupted");
  EXPECT_EQ(store.Run(first.summary.run_id).status, "interrupted");
  ASSERT_EQ(first.rows.size(), 150u);

  const Executed resumed = Execute(config, store, first.summary.run_id);
  EXPECT_EQ(resumed.summary.run_id, first.summary.run_id);
  EXPECT_EQ(resumed.summary.status, "done");
  EXPECT_EQ(resumed.summary.evaluations, 400);
  EXPECT_EQ(EvaluationRows(resumed.rows), EvaluationRows(whole.rows));
  EXPECT_EQ(resumed.fronts, whole.fronts);
  EXPECT_EQ(store.Runs().size(), 1u);
}

TEST(Run, ResumeRefusesAStoreFromAnotherConfig) {
  TempDir dir;
  Store store(dir.File("fixture_resume.db"), Store::Mode::kCreateIfMissing);
  std::atomic<bool> stop{false};
  const Executed first = Execute(
      Quickstart({.budget_evaluations = 200}), store, std::nullopt,
      [&](const RunProgress&) { stop = true; }, &stop);
  ASSERT_EQ(first.summary.status, "interrupted");
  EXPECT_TRUE(ThrowsWith<DatabaseError>(
      [&] {
        Execute(Quickstart({.seed = 1, .budget_evaluations = 200}), store, first.summary.run_id);
      },
      {"cannot be resumed", "batch 0 differs"}));
}

// The true fronts of edgegpu, edgetpu and pixel3 over the whole space, computed from the CSVs
// alone with the rules of their device YAMLs: an empty cell is missing, and so is edgetpu's -1.
const std::map<std::string, std::set<std::string>>& TrueFronts() {
  struct TableDevice {
    std::string name;
    std::string latency_column;
    std::string energy_column;  // empty: the device reports none
    bool minus_one_is_missing;
  };
  static const auto fronts = [] {
    const std::vector<TableDevice> devices = {
        {"edgegpu", "edgegpu_latency_ms", "edgegpu_energy_mJ", false},
        {"edgetpu", "edgetpu_latency_ms", "", true},
        {"pixel3", "pixel3_latency_ms", "", false}};
    const CsvTable accuracy =
        CsvTable::Load(SourcePath("data/nas-bench-201/nb201_test_accuracy.csv"));
    std::map<std::string, double> acc;
    for (size_t row = 0; row < accuracy.rows(); ++row) {
      acc[accuracy.Cell(row, accuracy.Column("arch_str"))] =
          *accuracy.Number(row, accuracy.Column("cifar10_test_acc"));
    }
    const CsvTable hw = CsvTable::Load(SourcePath("data/hw-nas-bench/nb201_cifar10_hw.csv"));
    std::map<std::string, std::set<std::string>> fronts;
    for (const auto& device : devices) {
      auto valid = [&](size_t row, const std::string& column) {
        const auto v = hw.Number(row, hw.Column(column));
        return v && !(device.minus_one_is_missing && *v == -1);
      };
      std::vector<std::vector<double>> points;
      std::vector<std::string> names;
      for (size_t row = 0; row < hw.rows(); ++row) {
        if (!valid(row, device.latency_column)) continue;
        if (!device.energy_column.empty() && !valid(row, device.energy_column)) continue;
        const std::string arch = hw.Cell(row, hw.Column("arch_str"));
        points.push_back({-acc.at(arch), *hw.Number(row, hw.Column(device.latency_column))});
        names.push_back(arch);
      }
      for (int i : test::BruteFront(points)) fronts[device.name].insert(names[i]);
    }
    return fronts;
  }();
  return fronts;
}

// A budget of the whole space must visit every candidate once, so the fronts are the true ones.
void ExpectExhaustiveRunFindsTheTrueFronts(const std::string& sampler) {
  TempDir dir;
  const RunConfig config = LoadRunConfig(RunYaml{.sampler = sampler,
                                                 .budget = 15625,
                                                 .batch = 250,
                                                 .seed = 1,
                                                 .devices = "[edgegpu, edgetpu, pixel3]"}
                                             .WriteTo(dir, "fixture_exhaust.yaml"));
  const Executed run = ExecuteInMemory(config);
  std::set<std::string> distinct;
  for (const auto& r : run.rows) distinct.insert(r.canonical);
  EXPECT_EQ(distinct.size(), run.rows.size());
  EXPECT_EQ(run.rows.size(), 15625u) << "the sampler stopped before the space ran out";
  for (const auto& [device, truth] : TrueFronts()) {
    EXPECT_GT(truth.size(), 5u);
    EXPECT_EQ(run.fronts.at(device), truth) << device;
  }
}

class RunExhaustTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RunExhaustTest, ExhaustingTheSpaceFindsTheTrueFronts) {
  ExpectExhaustiveRunFindsTheTrueFronts(GetParam());
}

INSTANTIATE_TEST_SUITE_P(AllKinds, RunExhaustTest,
                         ::testing::Values("random", "nsga2", "evolution"),
                         [](const auto& info) { return info.param; });

// guided fits a Gaussian process per batch: about two minutes for the whole space.
TEST(RunExhaustSlow, GuidedExhaustingTheSpaceFindsTheTrueFronts) {
  ExpectExhaustiveRunFindsTheTrueFronts("guided");
}

TEST(Run, GuidedNeverProposesAConstrainedCandidateOrOneThatIgnoresItsInput) {
  // guided knows every device's cost before evaluating, so it only proposes what fits; and it
  // never spends an evaluation on a cell with no path from input to output. Under 2.5 ms on
  // edgegpu such cells are common: most of what fits is cells of `none` and `skip_connect`.
  TempDir dir;
  RunYaml yaml{.sampler = "guided", .budget = 100, .batch = 25};
  yaml.extra = "constraints:\n  - {device: edgegpu, max_latency_ms: 2.5}\n";
  const Executed run = ExecuteInMemory(LoadRunConfig(yaml.WriteTo(dir, "fixture_guided.yaml")));
  ASSERT_EQ(run.rows.size(), 100u);
  const auto space = LoadSearchSpace(SourcePath("configs/spaces/nb201.yaml"));
  for (const auto& r : run.rows) {
    EXPECT_EQ(r.devices[0].status, "OK") << r.canonical;
    EXPECT_LE(r.devices[0].latency_ms, 2.5) << r.canonical;
    EXPECT_FALSE(space->IgnoresInput(space->Parse(r.canonical))) << r.canonical;
  }
}

// guided scores its pool with parallel loops: the thread count and a resume must not change
// what it proposes.
TEST(RunGuided, SameRunWithOneOrTwoThreadsAndAfterAResume) {
  TempDir dir;
  const std::string path =
      RunYaml{.sampler = "guided", .budget = 200, .batch = 50, .seed = 3}.WriteTo(
          dir, "fixture_guided.yaml");
  const Executed one = ExecuteInMemory(LoadRunConfig(path, {.threads = 1}));
  const Executed two = ExecuteInMemory(LoadRunConfig(path, {.threads = 2}));
  ASSERT_EQ(one.rows.size(), 200u);
  EXPECT_EQ(EvaluationRows(one.rows), EvaluationRows(two.rows));
  EXPECT_EQ(one.fronts, two.fronts);

  Store store(":memory:", Store::Mode::kCreateIfMissing);
  std::atomic<bool> stop{false};
  const RunConfig config = LoadRunConfig(path, {.threads = 2});
  const Executed first = Execute(
      config, store, std::nullopt, [&](const RunProgress& p) { stop = stop || p.done >= 100; },
      &stop);
  ASSERT_EQ(first.rows.size(), 100u);
  const Executed resumed = Execute(config, store, first.summary.run_id);
  EXPECT_EQ(EvaluationRows(resumed.rows), EvaluationRows(one.rows));
  EXPECT_EQ(resumed.fronts, one.fronts);
}

TEST(Run, EnergyObjectiveNeedsEnergyOnEveryDevice) {
  TempDir dir;
  RunYaml yaml;
  yaml.extra = "objectives: [accuracy, latency, energy]\n";
  const std::string path = yaml.WriteTo(dir, "fixture_energy.yaml");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { hwnas::Run run(LoadRunConfig(path)); },
      {path + ": objective 'energy': device 'edgetpu' provides no energy; devices here with "
              "energy: edgegpu"}));
}

}  // namespace
}  // namespace hwnas
