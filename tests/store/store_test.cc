#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/candidate.h"
#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;
using test::SqliteDb;
using test::TempDir;
using test::ThrowsWith;

RunRecord SomeRun(const std::string& devices = "dev") {
  RunRecord run;
  run.config = "seed: 0\n";
  run.config_path = "/tmp/fixture_run.yaml";
  run.seed = 7;
  run.app_version = "test";
  run.space = "categorical";
  run.sampler = "random";
  run.devices = devices;
  return run;
}

// An evaluation with one device result; accuracy < 0 makes the evaluation a FAIL, latency < 0
// the device result.
EvaluationRecord Eval(const std::string& canonical, int batch, int seq, double accuracy,
                      double latency_ms, const std::string& device = "dev") {
  EvaluationRecord r;
  r.canonical = canonical;
  r.hash = CandidateHash(canonical);
  r.batch = batch;
  r.seq = seq;
  r.status = accuracy < 0 ? "FAIL" : "OK";
  r.error = accuracy < 0 ? "no accuracy for " + canonical : "";
  r.accuracy = accuracy < 0 ? 0 : accuracy;
  r.metrics = {{"params", 100.0 + seq}};
  r.seconds = 0.5;
  const bool ok = latency_ms >= 0;
  r.devices.push_back(DeviceRecord{
      device, ok ? "OK" : "FAIL", ok ? "" : device + ": no latency", ok ? latency_ms : 0,
      ok ? std::optional<double>(2 * latency_ms) : std::nullopt, "measured"});
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  std::string Db(const std::string& name = "fixture.db") const { return dir_.File(name); }
  TempDir dir_;
};

TEST_F(StoreTest, NewDatabaseHasSchemaVersion) {
  { Store store(Db(), Store::Mode::kCreateIfMissing); }
  auto db = SqliteDb::ReadOnly(Db());
  EXPECT_EQ(db.Column("SELECT version FROM schema_version"),
            std::vector<std::string>{std::to_string(kSchemaVersion)});
  EXPECT_EQ(kSchemaVersion, 3);
  // And it opens again.
  EXPECT_NO_THROW(Store(Db(), Store::Mode::kMustExist));
}

// Version 1 had no final results; such a database gains their tables and keeps its runs.
TEST_F(StoreTest, VersionOneDatabaseMigrates) {
  {
    Store store(Db(), Store::Mode::kCreateIfMissing);
    RunRecord run;
    run.config = "space: x";
    run.space = "nb201";
    store.CreateRun(run);
  }
  {
    auto db = SqliteDb::Create(Db());
    db.Exec("DROP TABLE final_results; DROP TABLE measured_results; UPDATE schema_version SET version = 1");
  }
  Store store(Db(), Store::Mode::kMustExist);
  EXPECT_EQ(store.Runs().size(), 1u);
  EXPECT_TRUE(store.FinalizedCandidates(1).empty());
  auto db = SqliteDb::ReadOnly(Db());
  EXPECT_EQ(db.Column("SELECT version FROM schema_version"), std::vector<std::string>{"3"});
}

// Version 2 had no final training steps; its final results are kept, their steps unknown.
TEST_F(StoreTest, VersionTwoDatabaseMigratesKeepingItsFinalResults) {
  {
    Store store(Db(), Store::Mode::kCreateIfMissing);
    const int64_t run = store.CreateRun(SomeRun());
    std::vector<EvaluationRecord> batch = {Eval("a=1", 0, 0, 90, 3)};
    store.WriteBatch(run, batch, {{"dev", {CandidateHash("a=1")}}});
    store.WriteFinalResult(run, CandidateHash("a=1"), {"OK", "", 91.25, 12.5, 500});
  }
  SqliteDb::Create(Db()).Exec(
      "ALTER TABLE final_results DROP COLUMN steps; UPDATE schema_version SET version = 2");
  Store store(Db(), Store::Mode::kMustExist);
  const auto front = store.Front(1, "dev");
  ASSERT_EQ(front.size(), 1u);
  EXPECT_EQ(front[0].test_accuracy, 91.25);
  EXPECT_EQ(front[0].final_steps, std::nullopt);
  store.WriteFinalResult(1, CandidateHash("a=1"), {"OK", "", 91.5, 13.0, 3000});
  EXPECT_EQ(store.Front(1, "dev")[0].final_steps, 3000);
  EXPECT_EQ(SqliteDb::ReadOnly(Db()).Column("SELECT version FROM schema_version"),
            std::vector<std::string>{"3"});
}

TEST_F(StoreTest, TextFileIsRefused) {
  dir_.Write("fixture_text.db", "space: nb201\nthis is a config, not a database\n");
  EXPECT_TRUE(ThrowsWith<DatabaseError>(
      [&] { Store(Db("fixture_text.db"), Store::Mode::kCreateIfMissing); },
      {"fixture_text.db", "not a database"}));
  // Refusing must not touch the file.
  EXPECT_EQ(test::ReadFile(Db("fixture_text.db")),
            "space: nb201\nthis is a config, not a database\n");
}

TEST_F(StoreTest, RandomBytesAreRefused) {
  std::string bytes;
  uint32_t x = 12345;
  for (int i = 0; i < 8192; ++i) {
    x = x * 1103515245u + 12345u;
    bytes += static_cast<char>(x >> 24);
  }
  dir_.Write("fixture_random.db", bytes);
  EXPECT_TRUE(ThrowsWith<DatabaseError>(
      [&] { Store(Db("fixture_random.db"), Store::Mode::kMustExist); }, {"not a database"}));
}

TEST_F(StoreTest, ForeignSqliteDatabaseIsRefused) {
  SqliteDb::Create(Db("fixture_foreign.db")).Exec("CREATE TABLE photos (id INTEGER, path TEXT)");
  EXPECT_TRUE(ThrowsWith<DatabaseError>(
      [&] { Store(Db("fixture_foreign.db"), Store::Mode::kCreateIfMissing); },
      {"fixture_foreign.db", "not an hwnas database"}));
  // No hwnas table was added to it.
  EXPECT_EQ(SqliteDb::ReadOnly(Db("fixture_foreign.db"))
                .Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"),
            1);
}

TEST_F(StoreTest, OtherSchemaVersionIsRefusedNamingBoth) {
  { Store store(Db(), Store::Mode::kCreateIfMissing); }
  SqliteDb(Db(), SQLITE_OPEN_READWRITE).Exec("UPDATE schema_version SET version = 999");
  EXPECT_TRUE(ThrowsWith<DatabaseError>(
      [&] { Store(Db(), Store::Mode::kMustExist); },
      {"schema version 999", "reads version " + std::to_string(kSchemaVersion)}));
}

TEST_F(StoreTest, MustExistOnMissingPathFailsAndCreatesNothing) {
  const std::string path = Db("fixture_missing.db");
  EXPECT_TRUE(ThrowsWith<DatabaseError>([&] { Store(path, Store::Mode::kMustExist); },
                                        {path + ": no such database file"}));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + "-wal"));
}

TEST_F(StoreTest, EvaluationsRoundTrip) {
  Store store(Db(), Store::Mode::kCreateIfMissing);
  const int64_t run = store.CreateRun(SomeRun());
  std::vector<EvaluationRecord> batch = {Eval("a=1", 0, 0, 91.5, 3.25), Eval("a=2", 0, 1, -1, 2.0),
                                         Eval("a=3", 0, 2, 80.0, -1)};
  store.WriteBatch(run, batch, {{"dev", {CandidateHash("a=1")}}});
  for (const auto& r : batch) EXPECT_GT(r.id, 0) << "the store assigns ids";

  const auto stored = store.RunEvaluations(run);
  ASSERT_EQ(stored.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(stored[i].canonical, batch[i].canonical);
    EXPECT_EQ(stored[i].hash, batch[i].hash);
    EXPECT_EQ(stored[i].seq, static_cast<int>(i));
    EXPECT_EQ(stored[i].status, batch[i].status);
    EXPECT_EQ(stored[i].error, batch[i].error);
    EXPECT_EQ(stored[i].accuracy, batch[i].accuracy);
    EXPECT_EQ(stored[i].metrics, batch[i].metrics);
    ASSERT_EQ(stored[i].devices.size(), 1u);
    EXPECT_EQ(stored[i].devices[0].status, batch[i].devices[0].status);
    EXPECT_EQ(stored[i].devices[0].error, batch[i].devices[0].error);
    EXPECT_EQ(stored[i].devices[0].latency_ms, batch[i].devices[0].latency_ms);
    EXPECT_EQ(stored[i].devices[0].energy_mj, batch[i].devices[0].energy_mj);
  }
  // A FAIL keeps its error and has no accuracy.
  auto db = SqliteDb::ReadOnly(Db());
  EXPECT_EQ(db.Column("SELECT COALESCE(accuracy, 'NULL') FROM evaluations WHERE status = 'FAIL'"),
            std::vector<std::string>{"NULL"});

  const auto runs = store.Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].evaluations, 3);
  EXPECT_EQ(runs[0].failures, 1);
  EXPECT_EQ(runs[0].status, "running");
  EXPECT_EQ(runs[0].seed, 7u);
  EXPECT_EQ(store.RunDevices(run), std::vector<std::string>{"dev"});
}

TEST_F(StoreTest, WriteBatchIsAtomic) {
  Store store(Db(), Store::Mode::kCreateIfMissing);
  const int64_t run = store.CreateRun(SomeRun());
  std::vector<EvaluationRecord> first = {Eval("a=1", 0, 0, 90, 1)};
  store.WriteBatch(run, first, {{"dev", {CandidateHash("a=1")}}});

  // The second record repeats seq 0 of batch 1: the insert fails half-way through the batch.
  std::vector<EvaluationRecord> bad = {Eval("a=2", 1, 0, 91, 2), Eval("a=3", 1, 0, 92, 3)};
  EXPECT_TRUE(ThrowsWith<DatabaseError>(
      [&] {
        store.WriteBatch(run, bad, {{"dev", {CandidateHash("a=2")}}});
      },
      {"UNIQUE"}));

  auto db = SqliteDb::ReadOnly(Db());
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM evaluations"), 1);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM candidates"), 1);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM device_results"), 1);
  EXPECT_EQ(db.Int("SELECT COUNT(*) FROM metrics"), 1);
  EXPECT_EQ(db.Column("SELECT c.canonical FROM fronts f JOIN evaluations e ON e.id = "
                      "f.evaluation_id JOIN candidates c ON c.id = e.candidate_id"),
            std::vector<std::string>{"a=1"});
  // The store is still usable after the rollback.
  std::vector<EvaluationRecord> good = {Eval("a=2", 1, 0, 91, 2)};
  store.WriteBatch(run, good, {});
  EXPECT_EQ(store.RunEvaluations(run).size(), 2u);
}

TEST_F(StoreTest, HashCollisionIsRefusedAndRolledBack) {
  Store store(Db(), Store::Mode::kCreateIfMissing);
  const int64_t run = store.CreateRun(SomeRun());
  std::vector<EvaluationRecord> first = {Eval("a=1", 0, 0, 90, 1)};
  store.WriteBatch(run, first, {});
  std::vector<EvaluationRecord> clash = {Eval("a=5", 1, 0, 90, 1), Eval("a=9", 1, 1, 90, 1)};
  clash[1].hash = CandidateHash("a=1");  // a different string with a stored hash
  EXPECT_TRUE(ThrowsWith<DatabaseError>([&] { store.WriteBatch(run, clash, {}); },
                                        {"hash collision between 'a=1' and 'a=9'"}));
  EXPECT_EQ(store.RunEvaluations(run).size(), 1u);
}

TEST_F(StoreTest, FrontsAreReplacedPerBatchAndOrderedByLatency) {
  Store store(Db(), Store::Mode::kCreateIfMissing);
  const int64_t run = store.CreateRun(SomeRun());
  std::vector<EvaluationRecord> b0 = {Eval("a=1", 0, 0, 90, 3), Eval("a=2", 0, 1, 80, 1)};
  store.WriteBatch(run, b0, {{"dev", {CandidateHash("a=1"), CandidateHash("a=2")}}});
  std::vector<EvaluationRecord> b1 = {Eval("a=3", 1, 0, 95, 2)};
  store.WriteBatch(run, b1, {{"dev", {CandidateHash("a=3"), CandidateHash("a=2")}}});
  const auto front = store.Front(run, "dev");
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(front[0].canonical, "a=2");
  EXPECT_EQ(front[0].latency_ms, 1.0);
  EXPECT_EQ(front[0].energy_mj, 2.0);
  EXPECT_EQ(front[1].canonical, "a=3");
  EXPECT_EQ(front[1].accuracy, 95.0);
  EXPECT_EQ(front[1].test_accuracy, std::nullopt);
  // A final result: its test accuracy and training length; a FAIL has neither.
  store.WriteFinalResult(run, CandidateHash("a=3"), {"OK", "", 94.5, 2.0, 700});
  store.WriteFinalResult(run, CandidateHash("a=2"), {"FAIL", "diverged", 0, 1.0, 700});
  const auto final = store.Front(run, "dev");
  EXPECT_EQ(final[1].test_accuracy, 94.5);
  EXPECT_EQ(final[1].final_steps, 700);
  EXPECT_EQ(final[0].test_accuracy, std::nullopt);
  EXPECT_EQ(final[0].final_steps, std::nullopt);
  EXPECT_EQ(store.Front(run, "").size(), 2u);
  EXPECT_TRUE(store.Front(run, "other").empty());
}

// (accuracy, latency): A (90, 1.0), B (93, 2.5), C (95, 4.0), D (80, 0.5); E is as accurate as
// C and fast, but its device result is a FAIL; F's evaluation is a FAIL.
class StoreBestTest : public StoreTest {
 protected:
  void SetUp() override {
    store_ = std::make_unique<Store>(Db(), Store::Mode::kCreateIfMissing);
    run_ = store_->CreateRun(SomeRun());
    std::vector<EvaluationRecord> batch = {Eval("A", 0, 0, 90, 1.0), Eval("B", 0, 1, 93, 2.5),
                                           Eval("C", 0, 2, 95, 4.0), Eval("D", 0, 3, 80, 0.5),
                                           Eval("E", 0, 4, 99, -1),  Eval("F", 0, 5, -1, 0.1)};
    store_->WriteBatch(run_, batch, {});
  }
  std::string BestName(BestQuery query) const {
    query.device = query.device.empty() ? "dev" : query.device;
    const auto best = store_->Best(query);
    return best ? best->canonical : "none";
  }
  std::unique_ptr<Store> store_;
  int64_t run_ = 0;
};

TEST_F(StoreBestTest, MaxLatencyGivesMostAccurateWithin) {
  EXPECT_EQ(BestName({.max_latency_ms = 3.0}), "B");
  EXPECT_EQ(BestName({.max_latency_ms = 4.0}), "C");  // the limit is inclusive
  EXPECT_EQ(BestName({.max_latency_ms = 0.9}), "D");
  EXPECT_EQ(BestName({.max_latency_ms = 0.4}), "none");
}

TEST_F(StoreBestTest, MinAccuracyGivesFastestAbove) {
  EXPECT_EQ(BestName({.min_accuracy = 85}), "A");
  EXPECT_EQ(BestName({.min_accuracy = 92}), "B");
  EXPECT_EQ(BestName({.min_accuracy = 95}), "C");  // inclusive
  EXPECT_EQ(BestName({.min_accuracy = 96}), "none");
  EXPECT_EQ(BestName({}), "D");  // no limits: the fastest OK one
}

TEST_F(StoreBestTest, FiltersByRunAndDevice) {
  const int64_t other = store_->CreateRun(SomeRun());
  std::vector<EvaluationRecord> batch = {Eval("G", 0, 0, 97, 0.2)};
  store_->WriteBatch(other, batch, {});
  EXPECT_EQ(BestName({.max_latency_ms = 3.0}), "G");  // every run by default
  EXPECT_EQ(BestName({.run_id = run_, .max_latency_ms = 3.0}), "B");
  EXPECT_EQ(BestName({.device = "nope", .max_latency_ms = 3.0}), "none");
}

TEST_F(StoreTest, RunStatusAndLatestUnfinished) {
  Store store(Db(), Store::Mode::kCreateIfMissing);
  EXPECT_FALSE(store.LatestUnfinishedRun());
  const int64_t a = store.CreateRun(SomeRun());
  const int64_t b = store.CreateRun(SomeRun());
  EXPECT_EQ(store.LatestUnfinishedRun()->id, b);
  store.SetRunStatus(b, "done");
  EXPECT_EQ(store.LatestUnfinishedRun()->id, a);
  EXPECT_FALSE(store.Run(b).ended_at.empty());
  EXPECT_TRUE(store.Run(a).ended_at.empty());
  store.SetRunStatus(a, "interrupted");
  EXPECT_EQ(store.LatestUnfinishedRun()->id, a);
  store.SetRunStatus(a, "done");
  EXPECT_FALSE(store.LatestUnfinishedRun());
  EXPECT_THROW(store.SetRunStatus(a, "paused"), DatabaseError);  // not a valid status
  EXPECT_TRUE(ThrowsWith<DatabaseError>([&] { store.Run(99); }, {"no run with id 99"}));
}

}  // namespace
}  // namespace hwnas
