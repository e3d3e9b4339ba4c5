// Resume after kill -9: a search killed mid-run and resumed with --resume must end exactly like
// an uninterrupted run of the same config and seed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "store/store.h"
#include "test_util.h"

extern char** environ;

namespace hwnas {
namespace {

using test::RunYaml;
using test::TempDir;

// `hwnas args...` as a child process with stdout and stderr sent to files. The destructor kills
// and reaps it if it still runs, so a failed assertion leaves no stray process behind.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    std::vector<std::string> argv = {test::HwnasBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& a : argv) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, pointers[0], &actions, nullptr, pointers.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (running()) {
      Kill();
      Wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && !waited_; }
  // True once the child has ended on its own (reaps it).
  bool Exited() {
    int status = 0;
    if (running() && waitpid(pid_, &status, WNOHANG) == pid_) Reap(status);
    return waited_;
  }
  void Kill() { kill(pid_, SIGKILL); }
  // The exit code, -1 for death by a signal.
  int Wait() {
    int status = 0;
    if (running() && waitpid(pid_, &status, 0) == pid_) Reap(status);
    return exit_code_;
  }

 private:
  void Reap(int status) {
    waited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid_ = -1;
  bool waited_ = false;
  int exit_code_ = -1;
};

// Evaluations stored so far, read through a read-only connection; -1 while the schema is not
// there yet or the writer holds a lock.
int64_t StoredEvaluations(const std::string& db) {
  try {
    return test::SqliteDb::ReadOnly(db).Int("SELECT COUNT(*) FROM evaluations");
  } catch (const std::exception&) {
    return -1;
  }
}

// Per sampler kind: each rebuilds its own state (nsga2's survivors, evolution's aging queue)
// when the stored batches are replayed.
class CliResume : public ::testing::TestWithParam<std::string> {};

TEST_P(CliResume, ResumeAfterKillEqualsAnUninterruptedRun) {
  TempDir dir;
  // nb201 with batches of 5: a few seconds, long enough to kill it midway.
  const int64_t budget = 5000;
  const std::string config = RunYaml{.sampler = GetParam(),
                                     .budget = budget,
                                     .batch = 5,
                                     .seed = 11,
                                     .threads = 1,
                                     .devices = "[edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga]"}
                                 .WriteTo(dir, "fixture_resume_run.yaml");
  const std::string killed_db = dir.File("fixture_killed.db");
  const std::string reference_db = dir.File("fixture_reference.db");

  // The uninterrupted reference runs alongside.
  Child reference({"search", "--config", config, "--db", reference_db},
                  dir.File("reference_stdout.txt"), dir.File("reference_stderr.txt"));
  Child victim({"search", "--config", config, "--db", killed_db}, dir.File("killed_stdout.txt"),
               dir.File("killed_stderr.txt"));
  ASSERT_TRUE(reference.started() && victim.started());

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int64_t stored = -1;
  while (stored < 100 && !victim.Exited() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stored = StoredEvaluations(killed_db);
  }
  ASSERT_FALSE(victim.Exited()) << "the search finished before it could be killed: the config "
                                   "is too fast for this test; raise the budget";
  victim.Kill();
  EXPECT_EQ(victim.Wait(), -1);
  ASSERT_GE(stored, 100) << "no progress within the deadline";

  {
    auto db = test::SqliteDb::ReadOnly(killed_db);
    EXPECT_EQ(db.Column("SELECT status FROM runs"), std::vector<std::string>{"running"});
    const int64_t at_kill = db.Int("SELECT COUNT(*) FROM evaluations");
    ASSERT_LT(at_kill, budget) << "the run finished before the kill: the config is too fast "
                                  "for this test; raise the budget";
  }

  const auto resumed =
      test::RunCommand({test::HwnasBinary(), "search", "--db", killed_db, "--resume"}, dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming run 1 ("), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("run 1 done: " + std::to_string(budget) + " evaluations"),
            std::string::npos)
      << resumed.err;
  ASSERT_EQ(reference.Wait(), 0) << test::ReadFile(dir.File("reference_stderr.txt"));

  const Store killed(killed_db, Store::Mode::kMustExist);
  const Store whole(reference_db, Store::Mode::kMustExist);
  ASSERT_EQ(killed.Runs().size(), 1u);
  EXPECT_EQ(killed.Run(1).status, "done");
  const auto rows = killed.RunEvaluations(1);
  EXPECT_EQ(rows.size(), static_cast<size_t>(budget)) << "rows were lost or duplicated";
  std::set<std::string> distinct;
  for (const auto& r : rows) distinct.insert(r.canonical);
  EXPECT_EQ(distinct.size(), rows.size());
  EXPECT_EQ(test::EvaluationRows(rows), test::EvaluationRows(whole.RunEvaluations(1)));
  const auto fronts = test::FrontMembers(killed, 1);
  EXPECT_EQ(fronts.size(), 6u);
  EXPECT_EQ(fronts, test::FrontMembers(whole, 1));
}

INSTANTIATE_TEST_SUITE_P(AllKinds, CliResume, ::testing::Values("nsga2", "random", "evolution"),
                         [](const auto& info) { return info.param; });


// The joint Fashion-MNIST search killed while proxies train: what was stored stays as it was,
// and --resume completes the run, final results included.
TEST(FmnistResumeSlow, KillDuringProxyTrainingLosesNoStoredResult) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  }
  TempDir dir;
  setenv("XDG_CACHE_HOME", dir.File("cache").c_str(), 1);
  const std::string db = dir.File("fixture_fmnist.db");
  const std::string config = test::SourcePath("configs/runs/fmnist-smoke.yaml");
  std::vector<std::string> at_kill;
  {
    Child victim({"search", "--config", config, "--db", db}, dir.File("stdout.txt"), dir.File("stderr.txt"));
    ASSERT_TRUE(victim.started());
    // The first batch of 4 is stored; the second is being trained.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(600);
    while (StoredEvaluations(db) < 4 && !victim.Exited() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(victim.Exited()) << test::ReadFile(dir.File("stderr.txt"));
    victim.Kill();
    victim.Wait();
    at_kill = test::SqliteDb::ReadOnly(db).Column(
        "SELECT c.canonical || ' ' || e.accuracy FROM evaluations e JOIN candidates c "
        "ON c.id = e.candidate_id ORDER BY e.id");
  }
  ASSERT_EQ(at_kill.size(), 4u);
  const auto resumed = test::RunCommand({test::HwnasBinary(), "search", "--db", db, "--resume"}, dir);
  unsetenv("XDG_CACHE_HOME");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("teacher: reusing"), std::string::npos) << resumed.err;
  auto sql = test::SqliteDb::ReadOnly(db);
  const auto after = sql.Column(
      "SELECT c.canonical || ' ' || e.accuracy FROM evaluations e JOIN candidates c "
      "ON c.id = e.candidate_id ORDER BY e.id");
  ASSERT_EQ(after.size(), 8u);
  EXPECT_EQ(std::vector<std::string>(after.begin(), after.begin() + 4), at_kill);
  EXPECT_EQ(sql.Int("SELECT COUNT(DISTINCT candidate_id) FROM evaluations"), 8);
  EXPECT_EQ(sql.Column("SELECT status FROM runs"), std::vector<std::string>{"done"});
  // Every front member of every device has its final test accuracy.
  EXPECT_EQ(sql.Int("SELECT COUNT(DISTINCT f.evaluation_id) FROM fronts f LEFT JOIN final_results r "
                    "ON r.evaluation_id = f.evaluation_id WHERE r.status IS NULL"),
            0);
  EXPECT_GT(sql.Int("SELECT COUNT(*) FROM final_results WHERE status = 'OK'"), 0);
}

}  // namespace
}  // namespace hwnas
