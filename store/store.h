// The results database (SQLite, WAL mode): runs, candidates, evaluations with their metrics,
// per-device results, and the front members of every run and device. Schema in store.cc; a
// database from another schema version, or a file that is not an hwnas database, is refused
// with a DatabaseError. Nothing is overwritten: every search adds a run.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct sqlite3;

namespace hwnas {

inline constexpr int kSchemaVersion = 3;

struct RunRecord {
  int64_t id = 0;
  std::string config;  // the effective run config, YAML
  std::string config_path;  // the file it came from: its relative paths resolve against it
  uint64_t seed = 0;
  std::string status;  // running | done | interrupted | failed
  std::string started_at;
  std::string ended_at;
  std::string app_version;
  std::string space;
  std::string sampler;
  std::string devices;  // comma-separated
  int64_t evaluations = 0;
  int64_t failures = 0;
};

struct DeviceRecord {
  std::string device;
  std::string status;  // OK | FAIL
  std::string error;
  double latency_ms = 0.0;
  std::optional<double> energy_mj;
  std::string source;  // measured | predicted
};

struct EvaluationRecord {
  int64_t id = 0;  // assigned by the store
  int batch = 0;
  int seq = 0;  // position within the batch
  std::string canonical;
  uint64_t hash = 0;
  std::string status;  // OK | FAIL
  std::string error;
  double accuracy = 0.0;
  std::map<std::string, double> metrics;
  double seconds = 0.0;
  std::vector<DeviceRecord> devices;
};

// One row of a query: a candidate's accuracy and its cost on one device.
struct FrontRow {
  int64_t run_id = 0;
  std::string device;
  std::string canonical;
  double accuracy = 0.0;
  double latency_ms = 0.0;
  std::optional<double> energy_mj;
  std::string source;
  std::optional<double> test_accuracy;  // after the final training, on the test set
  std::optional<int64_t> final_steps;  // that training's length
  std::optional<double> measured_latency_ms;  // measured on this machine
};

// A front member's final result: trained longer, scored on the test set.
struct FinalResult {
  std::string status;  // OK | FAIL
  std::string error;
  double test_accuracy = 0.0;
  double seconds = 0.0;
  std::optional<int64_t> steps;  // of training, when the evaluator says
};

struct BestQuery {
  std::optional<int64_t> run_id;
  std::string device;
  std::optional<double> max_latency_ms;
  std::optional<double> min_accuracy;
};

class Store {
 public:
  enum class Mode { kCreateIfMissing, kMustExist };
  // Opens (or creates) a database; ":memory:" gives an in-memory one.
  Store(const std::string& path, Mode mode);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int64_t CreateRun(const RunRecord& run);
  // One transaction: the batch's evaluations, their device results, the run's fronts as they
  // stand after it (device -> the candidate hashes of its front members), and the seconds the
  // sampler spent proposing the batch.
  void WriteBatch(int64_t run_id, std::vector<EvaluationRecord>& batch,
                  const std::map<std::string, std::vector<uint64_t>>& fronts,
                  double sampler_seconds = 0);
  void SetRunStatus(int64_t run_id, const std::string& status);
  // Results of the end of a run, for a candidate it evaluated; each its own transaction, so a
  // killed run keeps every one written.
  void WriteFinalResult(int64_t run_id, uint64_t hash, const FinalResult& result);
  void WriteMeasuredLatency(int64_t run_id, uint64_t hash, const std::string& device,
                            double latency_ms, const std::string& detail);
  std::set<uint64_t> FinalizedCandidates(int64_t run_id) const;

  std::vector<RunRecord> Runs() const;
  RunRecord Run(int64_t run_id) const;
  // The newest run whose status is running or interrupted; nullopt if there is none.
  std::optional<RunRecord> LatestUnfinishedRun() const;
  // Every evaluation of a run, ordered by batch and position.
  std::vector<EvaluationRecord> RunEvaluations(int64_t run_id) const;
  // Front members of a run (every device when device is empty), by device then latency.
  std::vector<FrontRow> Front(int64_t run_id, const std::string& device) const;
  std::optional<FrontRow> Best(const BestQuery& query) const;
  std::vector<std::string> RunDevices(int64_t run_id) const;

  const std::string& path() const { return path_; }

 private:
  void Execute(const std::string& sql) const;
  void CheckOrCreateSchema();

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace hwnas
