// The tiny joint architecture x compression search, configs/runs/fmnist-smoke.yaml, end to end
// through the real binary: teacher, supernet, distillation proxies, device costs and the store.
// Needs Fashion-MNIST (Debian package dataset-fashion-mnist); about a minute on 2 cores.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;
using test::SourcePath;
using test::TempDir;

// The layers a candidate's policies apply to, by its canonical string: the knobs named stem, fc
// and sX.bY.{exp,dw,proj} are layers of the same names.
std::set<std::string> PolicyLayers(const std::string& canonical) {
  std::set<std::string> layers;
  for (const std::string& item : test::SplitFields(canonical, ';')) {
    const std::string name = item.substr(0, item.find('='));
    if (name == "stem" || name == "fc" || name.ends_with(".exp") || name.ends_with(".dw") ||
        name.ends_with(".proj")) {
      layers.insert(name);
    }
  }
  return layers;
}

TEST(FmnistSmokeSlow, SearchStoresEightEvaluationsWithCompressionMetrics) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  }
  TempDir dir;
  const std::string db = dir.File("smoke.db");
  const auto r = test::RunCommand({"/usr/bin/env", "XDG_CACHE_HOME=" + dir.File("cache"), test::HwnasBinary(),
                                   "search", "--config", SourcePath("configs/runs/fmnist-smoke.yaml"), "--db", db},
                                  dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The teacher and the supernet went to the cache XDG_CACHE_HOME names.
  std::set<std::string> cached;
  for (const auto& entry : fs::directory_iterator(dir.File("cache") + "/hwnas")) {
    cached.insert(entry.path().filename().string().substr(0, 8));
  }
  EXPECT_EQ(cached, (std::set<std::string>{"supernet", "teacher-"}));
  // The teacher's test accuracy, which the front's are judged against, and the final training's
  // progress from its start, so its first member's report has a rate and an ETA.
  EXPECT_NE(r.err.find("teacher: validation accuracy "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("%, test accuracy "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("final training steps [0/"), std::string::npos) << r.err;
  for (const std::string& line : test::SplitLines(r.err)) {
    if (line.starts_with("final training steps [") && !line.starts_with("final training steps [0/")) {
      EXPECT_EQ(line.find("ETA ?"), std::string::npos) << line;
    }
  }

  auto sql = test::SqliteDb::ReadOnly(db);
  EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM evaluations"), 8);
  // The headline: the teacher timed in the same rounds, and the fastest member near its accuracy.
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("host-cpu: the teacher \\([0-9.]+% test accuracy\\) measures [0-9.]+ ms; "
                        "(the fastest front member within 1 point, [0-9.]+%, measures [0-9.]+ ms, "
                        "[0-9.]+x|no front member is within 1 point of its accuracy \\(best [0-9.]+%\\))\n")))
      << r.err;
  // Every host-cpu front member is measured on this machine, in rounds.
  EXPECT_GT(sql.Int("SELECT COUNT(*) FROM fronts WHERE device = 'host-cpu'"), 0);
  EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM fronts WHERE device = 'host-cpu' AND evaluation_id NOT IN "
                    "(SELECT evaluation_id FROM measured_results WHERE detail LIKE '%best of 5 rounds%' "
                    "AND latency_ms > 0)"),
            0);
  // Every front member's final training is stored with its length, and the front shows it.
  EXPECT_GT(sql.Int("SELECT COUNT(*) FROM final_results WHERE status = 'OK'"), 0);
  EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM final_results WHERE steps IS NOT 40"), 0);
  EXPECT_TRUE(std::regex_search(test::SplitLines(r.out).at(0), std::regex(" test_accuracy +final_steps ")))
      << r.out;
  EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM evaluations WHERE status = 'OK'"), 8)
      << test::SplitLines(r.err).back();
  EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM evaluations WHERE accuracy > 0 AND accuracy <= 100"), 8);
  EXPECT_EQ(sql.Int("SELECT COUNT(DISTINCT candidate_id) FROM evaluations"), 8);
  const auto ids = sql.Column("SELECT e.id || ' ' || c.canonical FROM evaluations e "
                              "JOIN candidates c ON c.id = e.candidate_id ORDER BY e.id");
  ASSERT_EQ(ids.size(), 8u);
  for (const std::string& row : ids) {
    const std::string id = row.substr(0, row.find(' '));
    const std::string canonical = row.substr(row.find(' ') + 1);
    const std::set<std::string> layers = PolicyLayers(canonical);
    ASSERT_GE(layers.size(), 5u) << canonical;  // stem, fc and at least 3 blocks' dw and proj
    auto names = [&](const std::string& prefix) {
      std::set<std::string> found;
      for (const auto& name : sql.Column("SELECT name FROM metrics WHERE evaluation_id = " + id +
                                         " AND name LIKE '" + prefix + "%'")) {
        found.insert(name.substr(prefix.size()));
      }
      return found;
    };
    EXPECT_EQ(names("sparsity."), layers) << canonical;
    EXPECT_EQ(names("quant_mse."), layers) << canonical;
    for (const char* metric : {"size_bytes", "bops", "params", "inherited_accuracy", "steps"}) {
      EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM metrics WHERE evaluation_id = " + id + " AND name = '" +
                        metric + "'"),
                1)
          << metric << " of " << canonical;
    }
    EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM metrics WHERE evaluation_id = " + id +
                      " AND name IN ('size_bytes', 'bops', 'params') AND value > 0"),
              3)
        << canonical;
    EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM metrics WHERE evaluation_id = " + id +
                      " AND name LIKE 'sparsity.%' AND (value < 0 OR value >= 1)"),
              0)
        << canonical;
    // Every device costed it.
    EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM device_results WHERE evaluation_id = " + id), 3) << canonical;
  }
}

// `hwnas fidelity` on 3 candidates of the smoke run, with its own cache, as CSV.
test::CommandResult SmokeFidelity(const TempDir& dir, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {"/usr/bin/env", "XDG_CACHE_HOME=" + dir.File("cache"),
                                   test::HwnasBinary(), "fidelity", "--config",
                                   SourcePath("configs/runs/fmnist-smoke.yaml"), "--samples", "3",
                                   "--format", "csv"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return test::RunCommand(argv, dir);
}

// Each candidate scored by the proxy and by a from-scratch reference with twice its steps, then
// the rank agreement and the proxy's share of the cost.
TEST(FmnistSmokeSlow, FidelityScoresEveryCandidateTwiceAndSummarisesTheAgreement) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  }
  TempDir dir;
  const auto r = SmokeFidelity(dir, {"--scale", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = test::SplitLines(r.out);
  // Three candidate rows under their header, a blank line, then the summary and its header.
  ASSERT_EQ(lines.size(), 7u) << r.out;
  double proxy_seconds = 0, reference_seconds = 0;
  EXPECT_EQ(lines[0], "candidate,proxy_accuracy,reference_accuracy,proxy_s,reference_s");
  for (size_t i = 1; i <= 3; ++i) {
    const auto fields = test::SplitFields(lines[i], ',');
    ASSERT_EQ(fields.size(), 5u) << lines[i];
    EXPECT_EQ(fields[0], std::to_string(i - 1));
    for (size_t f = 1; f <= 2; ++f) {
      EXPECT_GT(std::stod(fields[f]), 0.0) << lines[i];
      EXPECT_LE(std::stod(fields[f]), 100.0) << lines[i];
    }
    // Seconds; at this scale the proxy's fixed costs (inheriting, BN recalibration, validation)
    // can outweigh the reference's extra steps, so their order is not asserted.
    EXPECT_GT(std::stod(fields[3]), 0.0) << lines[i];
    EXPECT_GT(std::stod(fields[4]), 0.0) << lines[i];
    proxy_seconds += std::stod(fields[3]);
    reference_seconds += std::stod(fields[4]);
    // Logged as it finished, so a long run's partial answers outlive an interruption.
    EXPECT_NE(r.err.find("candidate " + fields[0] + ": proxy " + fields[1] + " in " + fields[3] +
                         " s, reference " + fields[2] + " in " + fields[4] + " s\n"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(lines[4], "");
  EXPECT_EQ(lines[5], "candidates,kendall_tau,spearman_rho,reference_steps_x,proxy_cost_share");
  const auto summary = test::SplitFields(lines[6], ',');
  ASSERT_EQ(summary.size(), 5u) << lines[6];
  EXPECT_EQ(summary[0], "3");
  EXPECT_GE(std::stod(summary[1]), -1.0);
  EXPECT_LE(std::stod(summary[1]), 1.0);
  EXPECT_GE(std::stod(summary[2]), -1.0);
  EXPECT_LE(std::stod(summary[2]), 1.0);
  EXPECT_EQ(summary[3], "2");
  // The share is the proxies' seconds over the references' (the rows print 3 digits).
  EXPECT_NEAR(std::stod(summary[4]), proxy_seconds / reference_seconds,
              0.02 * proxy_seconds / reference_seconds);
}

// Without --scale the reference is full training: the teacher's 1 epoch of the smoke run's 2,000
// images at the proxy's batch of 64 is 31 steps, against the proxy's 20.
TEST(FmnistSmokeSlow, FidelityWithoutAScaleTrainsTheReferenceAsLongAsTheTeacher) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  }
  TempDir dir;
  const auto r = SmokeFidelity(dir, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = test::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  EXPECT_EQ(test::SplitFields(lines[6], ',').at(3), "1.55") << lines[6];
}

// An interrupted comparison resumes from its pairs file: a rerun with more samples scores only
// the new candidates and prints the kept ones as they were; other evaluators' pairs are refused.
TEST(FmnistSmokeSlow, FidelityResumesFromItsPairsFile) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  }
  TempDir dir;
  const std::string pairs = dir.File("pairs.csv");
  const auto first = SmokeFidelity(dir, {"--scale", "2", "--pairs", pairs});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto first_pairs = test::SplitLines(test::ReadFile(pairs));
  ASSERT_EQ(first_pairs.size(), 4u);  // the header and the 3 candidates
  EXPECT_EQ(first_pairs[0],
            "candidate,canonical,status,proxy_accuracy,proxy_s,proxy_steps,reference_accuracy,"
            "reference_s,reference_steps,error,setup");

  const auto more = SmokeFidelity(dir, {"--scale", "2", "--pairs", pairs, "--samples", "4"});
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_NE(more.err.find("fidelity: 3 of 4 candidates already scored in " + pairs),
            std::string::npos)
      << more.err;
  for (const char* kept : {"candidate 0:", "candidate 1:", "candidate 2:"}) {
    EXPECT_EQ(more.err.find(kept), std::string::npos) << more.err;
  }
  EXPECT_NE(more.err.find("candidate 3: proxy "), std::string::npos) << more.err;
  const auto first_rows = test::SplitLines(first.out), more_rows = test::SplitLines(more.out);
  ASSERT_EQ(more_rows.size(), 8u) << more.out;
  for (size_t row = 0; row < 4; ++row) EXPECT_EQ(more_rows[row], first_rows[row]);
  const std::string kept = test::ReadFile(pairs);
  EXPECT_EQ(test::SplitLines(kept).size(), 5u) << kept;

  // Another reference: refused at once, before any training, and the file is left as it was.
  const auto other = SmokeFidelity(dir, {"--scale", "3", "--pairs", pairs});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find(pairs + ":2: scored by another evaluator or --scale than this run's"),
            std::string::npos)
      << other.err;
  EXPECT_EQ(test::SplitLines(other.err).size(), 1u) << other.err;
  EXPECT_EQ(test::ReadFile(pairs), kept);
}

// Pairs of other candidates, a cut-off file or an unwritable path are refused naming the file
// (and line); no teacher trains first (the smoke run's would take a minute).
TEST(FmnistSmoke, FidelityRefusesAPairsFileOfOtherCandidatesOrCutOff) {
  TempDir dir;
  const std::string header =
      "candidate,canonical,status,proxy_accuracy,proxy_s,proxy_steps,reference_accuracy,"
      "reference_s,reference_steps,error,setup\n";
  const std::string pairs = dir.File("pairs.csv");
  test::WriteFile(pairs, header + "0,stem=not-this-one,OK,80,1,20,81,2,40,,0123456789abcdef\n");
  auto r = SmokeFidelity(dir, {"--pairs", pairs});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(pairs + ":2: candidate 0 is another network than this --seed samples from "
                       "this space; name another --pairs file"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(test::SplitLines(r.err).size(), 1u) << r.err;

  test::WriteFile(pairs, header + "0,stem=x,OK,80");
  r = SmokeFidelity(dir, {"--pairs", pairs});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(pairs + ":2"), std::string::npos) << r.err;
  EXPECT_EQ(test::SplitLines(r.err).size(), 1u) << r.err;
  EXPECT_FALSE(fs::exists(dir.File("cache"))) << "a teacher was trained before the check";

  // A pairs file that cannot be written fails before any training, naming the path.
  const std::string unwritable = dir.File("no-such-dir/pairs.csv");
  r = SmokeFidelity(dir, {"--pairs", unwritable});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(unwritable), std::string::npos) << r.err;
  EXPECT_EQ(test::SplitLines(r.err).size(), 1u) << r.err;
  EXPECT_FALSE(fs::exists(dir.File("cache"))) << "a teacher was trained before the check";
}

TEST(FmnistSmoke, FidelityRefusesARunWhoseEvaluatorDoesNotTrain) {
  TempDir dir;
  const auto r = test::RunCommand({test::HwnasBinary(), "fidelity", "--config",
                                   SourcePath("configs/runs/quickstart.yaml"), "--samples", "3"},
                                  dir);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("hwnas fidelity needs an evaluator of kind distill"), std::string::npos)
      << r.err;
  EXPECT_EQ(test::SplitLines(r.err).size(), 1u) << r.err;
}

}  // namespace
}  // namespace hwnas
