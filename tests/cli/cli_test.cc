// The `hwnas` program end to end: the real binary in a temporary directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "store/store.h"
#include "test_util.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::RunYaml;
using test::SourcePath;
using test::TempDir;

using test::kShippedDevices;
const char* const kFrontHeader = "run,device,candidate,accuracy,latency_ms,energy_mj,source";

class CliTest : public test::CliFixture {
 protected:
  std::string Db(const std::string& name = "fixture_results.db") const { return dir_.File(name); }
};

TEST_F(CliTest, HelpListsEveryCommand) {
  const auto r = Hwnas({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* command :
       {"search", "query pareto", "query best", "query runs", "devices", "space show"}) {
    EXPECT_NE(r.out.find("\n  " + std::string(command) + " "), std::string::npos) << command;
  }
  const auto bare = Hwnas({});
  EXPECT_EQ(bare.exit_code, 2) << "no command is a usage error";
  EXPECT_NE(bare.out.find("Usage: hwnas COMMAND"), std::string::npos);
}

TEST_F(CliTest, SearchHelpListsItsFlags) {
  const auto r = Hwnas({"search", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--config FILE", "--db FILE", "--seed N", "--threads N", "--budget N", "--sampler KIND",
        "--devices A,B", "--resume", "--run ID", "--format FMT"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(r.out.find("random | nsga2 | evolution"), std::string::npos);
}

TEST_F(CliTest, UnknownCommandAndFlag) {
  const auto r = Hwnas({"serch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'serch'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("search, query pareto"), std::string::npos) << r.err;
  ExpectOneLineError(Hwnas({"query", "runs", "--database", Db()}),
                     {"unknown argument '--database'", "--db"});
}

TEST_F(CliTest, DevicesListsEveryShippedDevice) {
  const auto r = Hwnas({"devices", "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = test::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 1 + kShippedDevices.size() + test::kShippedLutDevices.size() +
                             test::kShippedCalibratedDevices.size() +
                             test::kShippedRooflineDevices.size())
      << r.out;
  EXPECT_EQ(lines[0], "device,kind,provides,description");
  // device -> its CSV line
  std::map<std::string, std::string> rows;
  for (size_t i = 1; i < lines.size(); ++i) rows[lines[i].substr(0, lines[i].find(','))] = lines[i];
  for (const auto& d : kShippedDevices) EXPECT_EQ(rows[d].rfind(d + ",table,", 0), 0u) << rows[d];
  for (const auto& d : test::kShippedLutDevices) {
    EXPECT_EQ(rows[d].rfind(d + ",lut,", 0), 0u) << rows[d];
  }
  for (const auto& d : test::kShippedCalibratedDevices) {
    EXPECT_EQ(rows[d].rfind(d + ",calibrated,", 0), 0u) << rows[d];
  }
  for (const auto& d : test::kShippedRooflineDevices) {
    EXPECT_EQ(rows[d].rfind(d + ",roofline,", 0), 0u) << rows[d];
  }
  EXPECT_NE(rows["edgegpu"].find(",\"latency, energy\","), std::string::npos) << rows["edgegpu"];
  EXPECT_NE(rows["edgetpu"].find(",latency,"), std::string::npos) << rows["edgetpu"];
  const auto table = Hwnas({"devices"});
  for (const auto& d : kShippedDevices)
    EXPECT_NE(table.out.find("\n" + d + " "), std::string::npos) << d;
}

TEST_F(CliTest, SpaceShowCountsTheNb201Space) {
  for (const char* config : {"configs/spaces/nb201.yaml", "configs/runs/quickstart.yaml"}) {
    const auto r = Hwnas({"space", "show", "--config", SourcePath(config)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("space nb201: 6 knobs, 15625 candidates"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("edge_3_2"), std::string::npos);
  }
}

TEST_F(CliTest, QuickstartCreatesTheDatabaseAndPrintsAFront) {
  ASSERT_FALSE(fs::exists(Db()));
  const auto r =
      Hwnas({"search", "--config", SourcePath("configs/runs/quickstart.yaml"), "--db", Db()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(Db()));
  const auto lines = test::SplitLines(r.out);
  ASSERT_GT(lines.size(), 8u);
  EXPECT_TRUE(
      std::regex_search(lines[0], std::regex("^run +device +candidate +accuracy +latency_ms")))
      << lines[0];
  for (const auto& d : kShippedDevices)
    EXPECT_NE(r.out.find("  " + d + "  "), std::string::npos) << d;
  EXPECT_NE(r.err.find("run 1 done: 1000 evaluations (0 FAIL)"), std::string::npos) << r.err;
  // A benchmark table's accuracy is final: no final training stage is announced.
  EXPECT_EQ(r.err.find("final training"), std::string::npos) << r.err;
  Store store(Db(), Store::Mode::kMustExist);
  EXPECT_EQ(store.Run(1).evaluations, 1000);
  EXPECT_EQ(lines.size(), 2 + store.Front(1, "").size());
}

// Query commands against one quickstart database.
class CliQueryTest : public CliTest {
 protected:
  void SetUp() override {
    const auto r =
        Hwnas({"search", "--config", SourcePath("configs/runs/quickstart.yaml"), "--db", Db()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

TEST_F(CliQueryTest, ParetoCsvMatchesTheStore) {
  const auto r = Hwnas({"query", "pareto", "--db", Db(), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = test::SplitLines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], kFrontHeader);
  Store store(Db(), Store::Mode::kMustExist);
  const auto front = store.Front(1, "");
  ASSERT_EQ(lines.size(), front.size() + 1);
  for (size_t i = 0; i < front.size(); ++i) {
    const auto fields = test::SplitFields(lines[i + 1]);
    ASSERT_EQ(fields.size(), 7u) << lines[i + 1];
    EXPECT_EQ(fields[0], "1");
    EXPECT_EQ(fields[1], front[i].device);
    EXPECT_EQ(fields[2], front[i].canonical);
    // Printed with 6 significant digits.
    EXPECT_NEAR(std::stod(fields[3]), front[i].accuracy, 1e-5 * front[i].accuracy);
    EXPECT_NEAR(std::stod(fields[4]), front[i].latency_ms, 1e-5 * front[i].latency_ms);
    EXPECT_EQ(fields[5].empty(), !front[i].energy_mj.has_value());
    EXPECT_EQ(fields[6], front[i].source);
  }
  const auto gpu =
      Hwnas({"query", "pareto", "--db", Db(), "--device", "edgegpu", "--format", "csv"});
  EXPECT_EQ(test::SplitLines(gpu.out).size(), store.Front(1, "edgegpu").size() + 1);
}

TEST_F(CliQueryTest, ParetoJsonHasNumericAccuracy) {
  const auto r =
      Hwnas({"query", "pareto", "--db", Db(), "--device", "edgetpu", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '[');
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "]\n");
  const std::regex object(
      R"re(\{"run": 1, "device": "edgetpu", "candidate": "[^"]+", "accuracy": ([0-9.e+-]+), "latency_ms": ([0-9.e+-]+), "energy_mj": null, "source": "measured"\})re");
  size_t objects = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), object);
       it != std::sregex_iterator(); ++it) {
    const double accuracy = std::stod((*it)[1]);
    EXPECT_GT(accuracy, 5.0);
    EXPECT_LE(accuracy, 100.0);
    ++objects;
  }
  Store store(Db(), Store::Mode::kMustExist);
  EXPECT_EQ(objects, store.Front(1, "edgetpu").size());
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '{'), static_cast<long>(objects));
}

TEST_F(CliQueryTest, BestUnderALatencyLimit) {
  const auto r = Hwnas({"query", "best", "--db", Db(), "--device", "edgegpu", "--max-latency-ms",
                        "2", "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = test::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  const auto fields = test::SplitFields(lines[1]);
  ASSERT_EQ(fields.size(), 7u);
  EXPECT_EQ(fields[1], "edgegpu");
  EXPECT_LE(std::stod(fields[4]), 2.0);
  // It is the most accurate stored evaluation within the limit.
  Store store(Db(), Store::Mode::kMustExist);
  double best = -1;
  std::string best_name;
  for (const auto& e : store.RunEvaluations(1)) {
    if (e.status == "OK" && e.devices[0].status == "OK" && e.devices[0].latency_ms <= 2.0 &&
        e.accuracy > best) {
      best = e.accuracy;
      best_name = e.canonical;
    }
  }
  EXPECT_EQ(fields[2], best_name);

  const auto none =
      Hwnas({"query", "best", "--db", Db(), "--device", "edgegpu", "--max-latency-ms", "0.01"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "no evaluated candidate on edgegpu meets the limits\n");
}

TEST_F(CliQueryTest, Runs) {
  const auto r = Hwnas({"query", "runs", "--db", Db(), "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = test::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(
      lines[0],
      "run,status,space,sampler,seed,evaluations,failures,devices,started_at,ended_at,version");
  EXPECT_EQ(lines[1].rfind(
                "1,done,nb201,nsga2,0,1000,0,\"edgegpu,raspi4,edgetpu,pixel3,eyeriss,fpga\",", 0),
            0u)
      << lines[1];
}

TEST_F(CliQueryTest, UnknownDeviceInQueryListsTheRunsDevices) {
  ExpectOneLineError(Hwnas({"query", "pareto", "--db", Db(), "--device", "tpu"}),
                     {"run 1 has no device 'tpu'; its devices: ", test::kShippedDeviceList});
}

// Config errors: one line naming file, line and the valid choices, and no database created.
class CliConfigErrorTest : public CliTest {
 protected:
  CommandResult Search(const std::string& config, std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"search", "--config", config, "--db", Db()};
    args.insert(args.end(), more.begin(), more.end());
    return Hwnas(args);
  }
  void TearDown() override {
    EXPECT_FALSE(fs::exists(Db())) << "a config error created the database";
  }
};

TEST_F(CliConfigErrorTest, UnknownDevice) {
  const std::string path =
      RunYaml{.devices = "[edgegpu, tpu9000]"}.WriteTo(dir_, "fixture_device.yaml");
  ExpectOneLineError(Search(path), {"fixture_device.yaml:6: devices[1]: unknown device 'tpu9000'",
                                    std::string("valid: ") + test::DeviceConfigList()});
}

TEST_F(CliConfigErrorTest, UnknownSamplerFlag) {
  const std::string path = RunYaml{}.WriteTo(dir_, "fixture_run.yaml");
  ExpectOneLineError(Search(path, {"--sampler", "nsga3"}),
                     {"--sampler: unknown value 'nsga3'; valid: random, nsga2, evolution"});
}

TEST_F(CliConfigErrorTest, UnknownSamplerInYaml) {
  const std::string path = RunYaml{.sampler = "nsga3"}.WriteTo(dir_, "fixture_sampler.yaml");
  ExpectOneLineError(Search(path), {"fixture_sampler.yaml:8: sampler.kind: unknown value "
                                    "'nsga3'; valid: random, nsga2, evolution"});
}

TEST_F(CliConfigErrorTest, MalformedYaml) {
  const std::string path = dir_.Write("fixture_malformed.yaml",
                                      "space: x.yaml\nsampler:\n  kind: nsga2\n population: 5\n");
  ExpectOneLineError(Search(path), {"fixture_malformed.yaml:4: malformed YAML"});
}

TEST_F(CliConfigErrorTest, UnknownKey) {
  const std::string path =
      dir_.Write("fixture_unknown_key.yaml", RunYaml{}.Text() + "budgets: 5\n");
  ExpectOneLineError(Search(path), {"fixture_unknown_key.yaml:14: unknown key 'budgets'",
                                    "valid keys: space, evaluator, devices"});
}

TEST_F(CliConfigErrorTest, MissingDataFile) {
  const std::string device =
      dir_.Write("fixture_device_missing_csv.yaml",
                 "name: phone\nkind: table\nsource: measured\ntable:\n  file: fixture_missing.csv\n"
                 "  key_column: arch_str\n  latency_column: pixel3_latency_ms\n");
  const std::string path =
      RunYaml{.devices = "[" + device + "]"}.WriteTo(dir_, "fixture_missing_data.yaml");
  ExpectOneLineError(Search(path), {"fixture_device_missing_csv.yaml:5",
                                    dir_.File("fixture_missing.csv") + ": cannot open file"});
}

TEST_F(CliConfigErrorTest, MissingConfigFile) {
  ExpectOneLineError(Search(dir_.File("fixture_absent.yaml")),
                     {"fixture_absent.yaml: cannot open file"});
}

TEST_F(CliConfigErrorTest, QueryOnMissingDatabase) {
  ExpectOneLineError(Hwnas({"query", "pareto", "--db", Db()}), {Db() + ": no such database file"});
}

// Databases that are not ours: refused, and left as they were.
TEST_F(CliTest, CorruptDatabaseIsRefused) {
  const std::string text = "this is not a database\n";
  const std::string db = dir_.Write("fixture_corrupt.db", text);
  const std::string config = RunYaml{}.WriteTo(dir_, "fixture_run.yaml");
  ExpectOneLineError(Hwnas({"search", "--config", config, "--db", db}),
                     {"fixture_corrupt.db", "not a database"});
  ExpectOneLineError(Hwnas({"query", "runs", "--db", db}),
                     {"fixture_corrupt.db", "not a database"});
  EXPECT_EQ(test::ReadFile(db), text);
}

TEST_F(CliTest, ForeignSqliteDatabaseIsRefused) {
  const std::string db = Db("fixture_foreign.db");
  test::SqliteDb::Create(db).Exec("CREATE TABLE songs (title TEXT)");
  const std::string config = RunYaml{}.WriteTo(dir_, "fixture_run.yaml");
  ExpectOneLineError(Hwnas({"search", "--config", config, "--db", db}),
                     {"fixture_foreign.db", "not an hwnas database"});
  ExpectOneLineError(Hwnas({"query", "pareto", "--db", db}), {"not an hwnas database"});
  EXPECT_EQ(test::SqliteDb::ReadOnly(db).Int("SELECT COUNT(*) FROM sqlite_master"), 1);
}

}  // namespace
}  // namespace hwnas
