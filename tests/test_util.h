// Helpers shared by every test executable: paths into the source tree, temporary directories,
// exception-message checks, SQLite access independent of the Store, a child-process runner for
// the CLI, run-config fixtures, and brute-force Pareto definitions to check the fast ones against.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace hwnas::test {

namespace fs = std::filesystem;

// A file of the source tree (configs/, data/), by its path relative to the top folder.
inline std::string SourcePath(std::string_view relative) {
  return (fs::path(HWNAS_SOURCE_DIR) / relative).string();
}

// The NAS-Bench-201 table devices shipped in configs/devices/ (the quickstart run's devices),
// sorted as the CLI and error messages list them.
inline const std::vector<std::string> kShippedDevices = {"edgegpu", "edgetpu", "eyeriss",
                                                         "fpga",    "pixel3",  "raspi4"};
inline constexpr const char* kShippedDeviceList = "edgegpu, edgetpu, eyeriss, fpga, pixel3, raspi4";
// The FBNet look-up-table devices shipped beside them.
inline const std::vector<std::string> kShippedLutDevices = {
    "edgegpu-fbnet", "eyeriss-fbnet", "fpga-fbnet", "pixel3-fbnet", "raspi4-fbnet"};
// The calibrated devices: NAS-Bench-201 rooflines fitted on 100 architectures, the H100 and
// this machine's CPU.
inline const std::vector<std::string> kShippedCalibratedDevices = {
    "edgegpu-calibrated", "edgetpu-calibrated", "eyeriss-calibrated", "fpga-calibrated",
    "h100",               "host-cpu",           "pixel3-calibrated",  "raspi4-calibrated"};
// Rooflines from published figures alone.
inline const std::vector<std::string> kShippedRooflineDevices = {"bitfusion"};
// Every device YAML in configs/devices/ by name, sorted, as "unknown device" errors list them.
inline std::string DeviceConfigList() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(SourcePath("configs/devices"))) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

// Architecture 0 of NAS-Bench-201, row 0 of both data/*/nb201_*.csv tables.
inline constexpr const char* kNb201Arch0 =
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|"
    "skip_connect~2|";

#ifdef HWNAS_BINARY
inline std::string HwnasBinary() { return HWNAS_BINARY; }
#endif

inline void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hwnas_test_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  // The path of `name` inside the directory (not created).
  std::string File(std::string_view name) const { return (path_ / name).string(); }
  // Writes `text` to `name` inside the directory and returns its path.
  std::string Write(std::string_view name, std::string_view text) const {
    WriteFile(File(name), text);
    return File(name);
  }

 private:
  fs::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> SplitFields(const std::string& line, char separator = ',') {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, separator)) fields.push_back(field);
  if (!line.empty() && line.back() == separator) fields.push_back("");
  return fields;
}

// Succeeds when `f` throws an E (or a subclass of it) whose message holds every one of
// `parts`; the failure message shows what was thrown instead.
template <typename E, typename F>
::testing::AssertionResult ThrowsWith(F&& f, std::initializer_list<std::string_view> parts) {
  try {
    f();
  } catch (const E& e) {
    const std::string message = e.what();
    for (auto part : parts) {
      if (message.find(part) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "message '" << message << "' lacks '" << part << "'";
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw another type: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "threw a non-std exception";
  }
  return ::testing::AssertionFailure() << "threw nothing";
}

// Raw SQLite access that bypasses the Store: to build foreign databases and to read a database
// another process is writing.
class SqliteDb {
 public:
  SqliteDb(const std::string& path, int flags) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error(path + ": " + message);
    }
    sqlite3_busy_timeout(db_, 2000);
  }
  static SqliteDb ReadOnly(const std::string& path) { return SqliteDb(path, SQLITE_OPEN_READONLY); }
  static SqliteDb Create(const std::string& path) {
    return SqliteDb(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  }
  SqliteDb(SqliteDb&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  ~SqliteDb() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error(sql + ": " + message);
    }
  }
  // The first column of every row, as text (NULL as "NULL").
  std::vector<std::string> Column(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    std::vector<std::string> values;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      values.push_back(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    return values;
  }
  int64_t Int(const std::string& sql) {
    const auto values = Column(sql);
    if (values.size() != 1) throw std::runtime_error(sql + ": expected one row");
    return std::stoll(values[0]);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Quotes one argument for /bin/sh.
inline std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<std::string> err_lines() const { return SplitLines(err); }
};

// Runs argv (argv[0] a path) in `dir`, capturing stdout, stderr and the exit code.
inline CommandResult RunCommand(const std::vector<std::string>& argv, const TempDir& dir) {
  const std::string out_path = dir.File("captured_stdout.txt");
  const std::string err_path = dir.File("captured_stderr.txt");
  std::ostringstream command;
  command << "cd " << ShellQuote(dir.path().string()) << " &&";
  for (const auto& arg : argv) command << ' ' << ShellQuote(arg);
  command << " >" << ShellQuote(out_path) << " 2>" << ShellQuote(err_path);
  const int status = std::system(command.str().c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return result;
}

#ifdef HWNAS_BINARY
// Runs the real `hwnas` binary in a temporary directory.
class CliFixture : public ::testing::Test {
 protected:
  CommandResult Hwnas(std::vector<std::string> args) const {
    args.insert(args.begin(), HwnasBinary());
    return RunCommand(args, dir_);
  }
  // A failure must be one line on stderr, "error: ..." holding every part, and exit != 0.
  static void ExpectOneLineError(const CommandResult& r,
                                 std::initializer_list<std::string_view> parts) {
    EXPECT_NE(r.exit_code, 0);
    const auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("error: ", 0), 0u) << lines[0];
    for (auto part : parts) EXPECT_NE(lines[0].find(part), std::string::npos) << lines[0];
  }
  TempDir dir_;
};
#endif

// A run YAML over the NAS-Bench-201 space with the shipped data, every path absolute so the file
// works from any directory.
struct RunYaml {
  std::string sampler = "nsga2";
  int64_t budget = 300;
  int batch = 50;
  uint64_t seed = 0;
  int threads = 0;
  std::string devices = "[edgegpu, edgetpu]";
  std::string accuracy_csv = SourcePath("data/nas-bench-201/nb201_test_accuracy.csv");
  std::string extra;  // more top-level YAML, e.g. constraints

  std::string Text() const {
    std::ostringstream y;
    y << "space: " << SourcePath("configs/spaces/nb201.yaml") << "\n"
      << "evaluator:\n"
      << "  kind: tabular\n"
      << "  file: " << accuracy_csv << "\n"
      << "  dataset: cifar10\n"
      << "devices: " << devices << "\n"
      << "sampler:\n"
      << "  kind: " << sampler << "\n"
      << "budget:\n"
      << "  evaluations: " << budget << "\n"
      << "batch: " << batch << "\n"
      << "seed: " << seed << "\n"
      << "threads: " << threads << "\n"
      << extra;
    return y.str();
  }
  // Writes the YAML into `dir` as `name` and returns its path.
  std::string WriteTo(const TempDir& dir, const std::string& name) const {
    return dir.Write(name, Text());
  }
};

// Pareto definitions straight from the textbook, O(n^2), minimisation: independent of
// search/pareto.cc so they can check it.
inline bool BruteDominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool no_worse = true;
  bool better = false;
  for (size_t i = 0; i < a.size(); ++i) {
    no_worse = no_worse && a[i] <= b[i];
    better = better || a[i] < b[i];
  }
  return no_worse && better;
}

// Indices (ascending) of the points no other point dominates, among those with alive[i].
inline std::vector<int> BruteFront(const std::vector<std::vector<double>>& points,
                                   const std::vector<bool>& alive) {
  std::vector<int> front;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!alive[i]) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) {
      dominated = alive[j] && BruteDominates(points[j], points[i]);
    }
    if (!dominated) front.push_back(static_cast<int>(i));
  }
  return front;
}

inline std::vector<int> BruteFront(const std::vector<std::vector<double>>& points) {
  return BruteFront(points, std::vector<bool>(points.size(), true));
}

// What two runs must agree on, one line per evaluation in batch/seq order: everything but ids
// and timings, numbers printed exactly.
inline std::vector<std::string> EvaluationRows(const std::vector<EvaluationRecord>& records) {
  std::vector<std::string> rows;
  for (const auto& r : records) {
    std::ostringstream row;
    row << std::setprecision(17) << r.batch << '/' << r.seq << ' ' << r.canonical << ' ' << r.status
        << ' ' << r.accuracy << ' ' << r.error;
    for (const auto& d : r.devices) {
      row << " | " << d.device << ' ' << d.status << ' ' << d.latency_ms << ' ';
      if (d.energy_mj) {
        row << *d.energy_mj;
      } else {
        row << '-';
      }
      row << ' ' << d.error;
    }
    rows.push_back(row.str());
  }
  return rows;
}

// device -> canonical strings of the run's stored front members.
inline std::map<std::string, std::set<std::string>> FrontMembers(const Store& store,
                                                                 int64_t run_id) {
  std::map<std::string, std::set<std::string>> members;
  for (const auto& row : store.Front(run_id, "")) members[row.device].insert(row.canonical);
  return members;
}

}  // namespace hwnas::test
