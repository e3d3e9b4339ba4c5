#include "store/store.h"

#include <sqlite3.h>

#include <filesystem>

#include "core/errors.h"
#include "core/paths.h"
#include "core/utc_time.h"

namespace hwnas {

namespace {

// Version 2 added the final results of front members (test accuracy after longer training, and
// latencies measured on this machine); version 3 their training steps, as members of one run may
// train for different lengths. Older databases gain what they lack on opening.
const char* const kFinalTables = R"sql(
CREATE TABLE final_results (
  evaluation_id INTEGER PRIMARY KEY REFERENCES evaluations(id),
  status        TEXT    NOT NULL CHECK (status IN ('OK', 'FAIL')),
  error         TEXT,
  test_accuracy REAL,
  seconds       REAL    NOT NULL,
  steps         INTEGER
);
CREATE TABLE measured_results (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  device        TEXT    NOT NULL,
  latency_ms    REAL    NOT NULL,
  source        TEXT    NOT NULL CHECK (source = 'measured'),
  detail        TEXT,
  PRIMARY KEY (evaluation_id, device)
);
)sql";

const char* const kSchema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  config      TEXT    NOT NULL,
  config_path TEXT    NOT NULL,
  seed        INTEGER NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),
  started_at  TEXT    NOT NULL,
  ended_at    TEXT,
  app_version TEXT    NOT NULL,
  space       TEXT    NOT NULL,
  sampler     TEXT    NOT NULL,
  devices     TEXT    NOT NULL
);
CREATE TABLE candidates (
  id        INTEGER PRIMARY KEY,
  hash      INTEGER NOT NULL UNIQUE,
  canonical TEXT    NOT NULL
);
CREATE TABLE evaluations (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id),
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  batch        INTEGER NOT NULL,
  seq          INTEGER NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('OK', 'FAIL')),
  error        TEXT,
  accuracy     REAL,
  seconds      REAL    NOT NULL,
  UNIQUE (run_id, candidate_id),
  UNIQUE (run_id, batch, seq)
);
CREATE TABLE metrics (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  name          TEXT    NOT NULL,
  value         REAL    NOT NULL,
  PRIMARY KEY (evaluation_id, name)
);
CREATE TABLE device_results (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  device        TEXT    NOT NULL,
  status        TEXT    NOT NULL CHECK (status IN ('OK', 'FAIL')),
  error         TEXT,
  latency_ms    REAL,
  energy_mj     REAL,
  source        TEXT    NOT NULL CHECK (source IN ('measured', 'predicted')),
  PRIMARY KEY (evaluation_id, device)
);
CREATE TABLE batches (
  run_id          INTEGER NOT NULL REFERENCES runs(id),
  batch           INTEGER NOT NULL,
  candidates      INTEGER NOT NULL,
  sampler_seconds REAL    NOT NULL,
  PRIMARY KEY (run_id, batch)
);
CREATE TABLE fronts (
  run_id        INTEGER NOT NULL REFERENCES runs(id),
  device        TEXT    NOT NULL,
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
  PRIMARY KEY (run_id, device, evaluation_id)
);
)sql";


// A prepared statement with bind-by-position helpers; finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) Fail();
  }
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& Bind(int i, double v) { return Check(sqlite3_bind_double(stmt_, i, v)); }
  Statement& Bind(int i, const std::string& v) {
    return Check(sqlite3_bind_text(stmt_, i, v.c_str(), -1, SQLITE_TRANSIENT));
  }
  template <typename T>
  Statement& Bind(int i, const std::optional<T>& v) {
    return v ? Bind(i, *v) : Check(sqlite3_bind_null(stmt_, i));
  }
  Statement& BindNullIfEmpty(int i, const std::string& v) {
    return v.empty() ? Check(sqlite3_bind_null(stmt_, i)) : Bind(i, v);
  }

  // True while there is a row to read.
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) Fail();
    return false;
  }
  void Run() {
    Step();
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::optional<double> OptionalDouble(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<double>(Double(col));
  }
  std::optional<int64_t> OptionalInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }
  std::string Text(int col) const {
    const auto* text = sqlite3_column_text(stmt_, col);
    return text ? reinterpret_cast<const char*>(text) : "";
  }

 private:
  Statement& Check(int rc) {
    if (rc != SQLITE_OK) Fail();
    return *this;
  }
  [[noreturn]] void Fail() const {
    throw DatabaseError(std::string(sqlite3_db_filename(db_, "main")) + ": " +
                        sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Hashes are unsigned 64-bit; SQLite integers are signed. Store the same bits.
int64_t ToSql(uint64_t hash) { return static_cast<int64_t>(hash); }
uint64_t FromSql(int64_t value) { return static_cast<uint64_t>(value); }

const char* const kRunColumns =
    "r.id, r.config, r.config_path, r.seed, r.status, r.started_at, COALESCE(r.ended_at, ''), r.app_version, "
    "r.space, r.sampler, r.devices, "
    "(SELECT COUNT(*) FROM evaluations e WHERE e.run_id = r.id), "
    "(SELECT COUNT(*) FROM evaluations e WHERE e.run_id = r.id AND e.status = 'FAIL')";

RunRecord ReadRun(const Statement& s) {
  RunRecord run;
  run.id = s.Int(0);
  run.config = s.Text(1);
  run.config_path = s.Text(2);
  run.seed = FromSql(s.Int(3));
  run.status = s.Text(4);
  run.started_at = s.Text(5);
  run.ended_at = s.Text(6);
  run.app_version = s.Text(7);
  run.space = s.Text(8);
  run.sampler = s.Text(9);
  run.devices = s.Text(10);
  run.evaluations = s.Int(11);
  run.failures = s.Int(12);
  return run;
}

const char* const kFrontRowColumns =
    "e.run_id, d.device, c.canonical, e.accuracy, d.latency_ms, d.energy_mj, d.source, "
    "fr.test_accuracy, fr.steps, m.latency_ms "
    "FROM evaluations e JOIN candidates c ON c.id = e.candidate_id "
    "JOIN device_results d ON d.evaluation_id = e.id "
    "LEFT JOIN final_results fr ON fr.evaluation_id = e.id AND fr.status = 'OK' "
    "LEFT JOIN measured_results m ON m.evaluation_id = e.id AND m.device = d.device ";

FrontRow ReadFrontRow(const Statement& s) {
  return FrontRow{s.Int(0), s.Text(1), s.Text(2), s.Double(3), s.Double(4),
                  s.OptionalDouble(5), s.Text(6), s.OptionalDouble(7), s.OptionalInt(8),
                  s.OptionalDouble(9)};
}

constexpr const char* kEvaluationOfHash =
    "(SELECT e.id FROM evaluations e JOIN candidates c ON c.id = e.candidate_id "
    "WHERE e.run_id = ? AND c.hash = ?)";

}  // namespace

Store::Store(const std::string& path, Mode mode) : path_(path) {
  const bool in_memory = path == ":memory:";
  if (!in_memory && mode == Mode::kMustExist && !std::filesystem::exists(path)) {
    throw DatabaseError(path + ": no such database file");
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
  if (mode == Mode::kCreateIfMissing) flags |= SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw DatabaseError(path + ": cannot open database: " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    CheckOrCreateSchema();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

Store::~Store() { sqlite3_close(db_); }

void Store::Execute(const std::string& sql) const {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw DatabaseError(path_ + ": " + message);
  }
}

void Store::CheckOrCreateSchema() {
  int64_t tables = 0;
  bool has_version_table = false;
  {
    Statement s(db_, "SELECT name FROM sqlite_master WHERE type = 'table'");
    while (s.Step()) {
      ++tables;
      has_version_table = has_version_table || s.Text(0) == "schema_version";
    }
  }
  if (tables == 0) {
    Execute("PRAGMA journal_mode = WAL");
    Execute("BEGIN");
    Execute(kSchema);
    Execute(kFinalTables);
    Execute("INSERT INTO schema_version VALUES (" + std::to_string(kSchemaVersion) + ")");
    Execute("COMMIT");
  } else if (!has_version_table) {
    throw DatabaseError(path_ + ": not an hwnas database (it has tables but no schema_version)");
  } else {
    int64_t version = -1;
    {
      Statement s(db_, "SELECT version FROM schema_version");
      if (s.Step()) version = s.Int(0);
    }
    if (version == 1 || version == 2) {
      Execute("BEGIN");
      Execute(version == 1 ? kFinalTables : "ALTER TABLE final_results ADD COLUMN steps INTEGER");
      Execute("UPDATE schema_version SET version = " + std::to_string(kSchemaVersion));
      Execute("COMMIT");
    } else if (version != kSchemaVersion) {
      throw DatabaseError(path_ + ": database schema version " + std::to_string(version) +
                          ", this hwnas " + AppVersion() + " reads version " +
                          std::to_string(kSchemaVersion) + "; use a new --db file");
    }
  }
  Execute("PRAGMA foreign_keys = ON");
  Execute("PRAGMA synchronous = NORMAL");
}

int64_t Store::CreateRun(const RunRecord& run) {
  Statement s(db_,
              "INSERT INTO runs (config, config_path, seed, status, started_at, app_version, space, "
              "sampler, devices) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)");
  s.Bind(1, run.config).Bind(2, run.config_path).Bind(3, ToSql(run.seed)).Bind(4, UtcNow());
  s.Bind(5, run.app_version).Bind(6, run.space).Bind(7, run.sampler).Bind(8, run.devices);
  s.Run();
  return sqlite3_last_insert_rowid(db_);
}

void Store::WriteBatch(int64_t run_id, std::vector<EvaluationRecord>& batch,
                       const std::map<std::string, std::vector<uint64_t>>& fronts,
                       double sampler_seconds) {
  Execute("BEGIN IMMEDIATE");
  try {
    Statement candidate(db_,
                        "INSERT INTO candidates (hash, canonical) VALUES (?, ?) "
                        "ON CONFLICT (hash) DO NOTHING");
    Statement candidate_id(db_, "SELECT id, canonical FROM candidates WHERE hash = ?");
    Statement evaluation(db_,
                         "INSERT INTO evaluations (run_id, candidate_id, batch, seq, status, "
                         "error, accuracy, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    Statement metric(db_, "INSERT INTO metrics (evaluation_id, name, value) VALUES (?, ?, ?)");
    Statement device(db_,
                     "INSERT INTO device_results (evaluation_id, device, status, error, "
                     "latency_ms, energy_mj, source) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (auto& record : batch) {
      candidate.Bind(1, ToSql(record.hash)).Bind(2, record.canonical).Run();
      candidate_id.Bind(1, ToSql(record.hash));
      HWNAS_CHECK(candidate_id.Step());
      if (candidate_id.Text(1) != record.canonical) {
        throw DatabaseError(path_ + ": hash collision between '" + candidate_id.Text(1) +
                            "' and '" + record.canonical + "'");
      }
      const int64_t cid = candidate_id.Int(0);
      candidate_id.Run();
      evaluation.Bind(1, run_id).Bind(2, cid).Bind(3, int64_t{record.batch});
      evaluation.Bind(4, int64_t{record.seq}).Bind(5, record.status);
      evaluation.BindNullIfEmpty(6, record.error);
      evaluation.Bind(7, record.status == "OK" ? std::optional<double>(record.accuracy)
                                               : std::nullopt);
      evaluation.Bind(8, record.seconds).Run();
      record.id = sqlite3_last_insert_rowid(db_);
      for (const auto& [name, value] : record.metrics) {
        metric.Bind(1, record.id).Bind(2, name).Bind(3, value).Run();
      }
      for (const auto& d : record.devices) {
        device.Bind(1, record.id).Bind(2, d.device).Bind(3, d.status);
        device.BindNullIfEmpty(4, d.error);
        device.Bind(5, d.status == "OK" ? std::optional<double>(d.latency_ms) : std::nullopt);
        device.Bind(6, d.energy_mj).Bind(7, d.source).Run();
      }
    }
    if (!batch.empty()) {
      Statement timing(db_,
                       "INSERT INTO batches (run_id, batch, candidates, sampler_seconds) "
                       "VALUES (?, ?, ?, ?)");
      timing.Bind(1, run_id).Bind(2, int64_t{batch[0].batch});
      timing.Bind(3, static_cast<int64_t>(batch.size())).Bind(4, sampler_seconds).Run();
    }
    Statement clear(db_, "DELETE FROM fronts WHERE run_id = ? AND device = ?");
    Statement member(db_,
                     "INSERT INTO fronts (run_id, device, evaluation_id) "
                     "SELECT ?, ?, e.id FROM evaluations e JOIN candidates c "
                     "ON c.id = e.candidate_id WHERE e.run_id = ? AND c.hash = ?");
    for (const auto& [name, hashes] : fronts) {
      clear.Bind(1, run_id).Bind(2, name).Run();
      for (uint64_t hash : hashes) {
        member.Bind(1, run_id).Bind(2, name).Bind(3, run_id).Bind(4, ToSql(hash)).Run();
      }
    }
    Execute("COMMIT");
  } catch (...) {
    Execute("ROLLBACK");
    throw;
  }
}

void Store::SetRunStatus(int64_t run_id, const std::string& status) {
  Statement s(db_, "UPDATE runs SET status = ?, ended_at = ? WHERE id = ?");
  s.Bind(1, status);
  if (status == "running") {
    s.BindNullIfEmpty(2, "");
  } else {
    s.Bind(2, UtcNow());
  }
  s.Bind(3, run_id).Run();
}

std::vector<RunRecord> Store::Runs() const {
  Statement s(db_, std::string("SELECT ") + kRunColumns + " FROM runs r ORDER BY r.id");
  std::vector<RunRecord> runs;
  while (s.Step()) runs.push_back(ReadRun(s));
  return runs;
}

RunRecord Store::Run(int64_t run_id) const {
  Statement s(db_, std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.id = ?");
  s.Bind(1, run_id);
  if (!s.Step()) throw DatabaseError(path_ + ": no run with id " + std::to_string(run_id));
  return ReadRun(s);
}

std::optional<RunRecord> Store::LatestUnfinishedRun() const {
  Statement s(db_, std::string("SELECT ") + kRunColumns +
                       " FROM runs r WHERE r.status IN ('running', 'interrupted') "
                       "ORDER BY r.id DESC LIMIT 1");
  if (!s.Step()) return std::nullopt;
  return ReadRun(s);
}

std::vector<EvaluationRecord> Store::RunEvaluations(int64_t run_id) const {
  std::vector<EvaluationRecord> records;
  std::map<int64_t, size_t> index_of;
  {
    Statement s(db_,
                "SELECT e.id, e.batch, e.seq, c.canonical, c.hash, e.status, "
                "COALESCE(e.error, ''), COALESCE(e.accuracy, 0), e.seconds "
                "FROM evaluations e JOIN candidates c ON c.id = e.candidate_id "
                "WHERE e.run_id = ? ORDER BY e.batch, e.seq");
    s.Bind(1, run_id);
    while (s.Step()) {
      EvaluationRecord r;
      r.id = s.Int(0);
      r.batch = static_cast<int>(s.Int(1));
      r.seq = static_cast<int>(s.Int(2));
      r.canonical = s.Text(3);
      r.hash = FromSql(s.Int(4));
      r.status = s.Text(5);
      r.error = s.Text(6);
      r.accuracy = s.Double(7);
      r.seconds = s.Double(8);
      index_of[r.id] = records.size();
      records.push_back(std::move(r));
    }
  }
  Statement m(db_,
              "SELECT m.evaluation_id, m.name, m.value FROM metrics m JOIN evaluations e "
              "ON e.id = m.evaluation_id WHERE e.run_id = ? ORDER BY m.evaluation_id, m.name");
  m.Bind(1, run_id);
  while (m.Step()) records[index_of.at(m.Int(0))].metrics[m.Text(1)] = m.Double(2);
  Statement d(db_,
              "SELECT d.evaluation_id, d.device, d.status, COALESCE(d.error, ''), "
              "COALESCE(d.latency_ms, 0), d.energy_mj, d.source FROM device_results d "
              "JOIN evaluations e ON e.id = d.evaluation_id WHERE e.run_id = ? "
              "ORDER BY d.evaluation_id, d.rowid");
  d.Bind(1, run_id);
  while (d.Step()) {
    records[index_of.at(d.Int(0))].devices.push_back(DeviceRecord{
        d.Text(1), d.Text(2), d.Text(3), d.Double(4), d.OptionalDouble(5), d.Text(6)});
  }
  return records;
}

std::vector<FrontRow> Store::Front(int64_t run_id, const std::string& device) const {
  Statement s(db_, std::string("SELECT ") + kFrontRowColumns +
                       "JOIN fronts f ON f.evaluation_id = e.id AND f.device = d.device "
                       "WHERE f.run_id = ? AND (? = '' OR f.device = ?) "
                       "ORDER BY d.device, d.latency_ms, e.accuracy DESC");
  s.Bind(1, run_id).Bind(2, device).Bind(3, device);
  std::vector<FrontRow> rows;
  while (s.Step()) rows.push_back(ReadFrontRow(s));
  return rows;
}

std::optional<FrontRow> Store::Best(const BestQuery& query) const {
  // With a latency cap the best is the most accurate within it; otherwise the fastest that
  // meets the accuracy floor.
  const std::string order = query.max_latency_ms
                                ? "e.accuracy DESC, d.latency_ms ASC"
                                : "d.latency_ms ASC, e.accuracy DESC";
  Statement s(db_, std::string("SELECT ") + kFrontRowColumns +
                       "WHERE e.status = 'OK' AND d.status = 'OK' AND d.device = ? "
                       "AND (? IS NULL OR e.run_id = ?) AND (? IS NULL OR d.latency_ms <= ?) "
                       "AND (? IS NULL OR e.accuracy >= ?) ORDER BY " +
                       order + ", c.canonical LIMIT 1");
  s.Bind(1, query.device).Bind(2, query.run_id).Bind(3, query.run_id);
  s.Bind(4, query.max_latency_ms).Bind(5, query.max_latency_ms);
  s.Bind(6, query.min_accuracy).Bind(7, query.min_accuracy);
  if (!s.Step()) return std::nullopt;
  return ReadFrontRow(s);
}

void Store::WriteFinalResult(int64_t run_id, uint64_t hash, const FinalResult& result) {
  Statement s(db_, std::string("INSERT OR REPLACE INTO final_results VALUES (") + kEvaluationOfHash +
                       ", ?, ?, ?, ?, ?)");
  s.Bind(1, run_id).Bind(2, static_cast<int64_t>(hash)).Bind(3, result.status).Bind(4, result.error);
  s.Bind(5, result.status == "OK" ? std::optional<double>(result.test_accuracy) : std::nullopt);
  s.Bind(6, result.seconds).Bind(7, result.steps);
  s.Run();
}

void Store::WriteMeasuredLatency(int64_t run_id, uint64_t hash, const std::string& device,
                                 double latency_ms, const std::string& detail) {
  Statement s(db_, std::string("INSERT OR REPLACE INTO measured_results VALUES (") +
                       kEvaluationOfHash + ", ?, ?, 'measured', ?)");
  s.Bind(1, run_id).Bind(2, static_cast<int64_t>(hash)).Bind(3, device).Bind(4, latency_ms);
  s.Bind(5, detail);
  s.Run();
}

std::set<uint64_t> Store::FinalizedCandidates(int64_t run_id) const {
  Statement s(db_, "SELECT c.hash FROM final_results fr JOIN evaluations e ON e.id = fr.evaluation_id "
                   "JOIN candidates c ON c.id = e.candidate_id WHERE e.run_id = ?");
  s.Bind(1, run_id);
  std::set<uint64_t> hashes;
  while (s.Step()) hashes.insert(static_cast<uint64_t>(s.Int(0)));
  return hashes;
}

std::vector<std::string> Store::RunDevices(int64_t run_id) const {
  Statement s(db_,
              "SELECT DISTINCT d.device FROM device_results d JOIN evaluations e "
              "ON e.id = d.evaluation_id WHERE e.run_id = ? ORDER BY d.device");
  s.Bind(1, run_id);
  std::vector<std::string> devices;
  while (s.Step()) devices.push_back(s.Text(0));
  return devices;
}

}  // namespace hwnas
