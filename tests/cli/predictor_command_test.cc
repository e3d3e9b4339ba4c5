// `hwnas predictor fit` and `hwnas predictor eval` end to end: the real binary on a database
// from a small random search, and its one-line errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "store/store.h"
#include "test_util.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::RunYaml;
using test::TempDir;

class CliPredictorTest : public test::CliFixture {
 protected:
  // The predictor commands also exit with 1 exactly and print nothing on stdout.
  static void ExpectOneLineError(const CommandResult& r,
                                 std::initializer_list<std::string_view> parts) {
    CliFixture::ExpectOneLineError(r, parts);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
  }
  // A random search of `budget` evaluations on NAS-Bench-201 into `db`.
  void Search(const std::string& db, int64_t budget) const {
    const std::string config =
        RunYaml{.sampler = "random", .budget = budget, .batch = 20, .seed = 0}.WriteTo(
            dir_, "fixture_predictor_run.yaml");
    const auto r = Hwnas({"search", "--config", config, "--db", db});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The kendall_tau cell of a CSV table's only row whose first cell is `set`.
  static double KendallOf(const std::string& csv, const std::string& set) {
    const auto lines = test::SplitLines(csv);
    EXPECT_EQ(lines.size(), 2u) << csv;
    if (lines.size() != 2) return NAN;
    EXPECT_EQ(lines[0], "set,candidates,kendall_tau,spearman_rho,mae_accuracy");
    const auto fields = test::SplitFields(lines[1]);
    EXPECT_EQ(fields.size(), 5u) << lines[1];
    if (fields.size() != 5 || fields[0] != set) {
      ADD_FAILURE() << "expected a row of set '" << set << "': " << lines[1];
      return NAN;
    }
    size_t used = 0;
    const double tau = std::stod(fields[2], &used);
    EXPECT_EQ(used, fields[2].size()) << "not a number: " << fields[2];
    return tau;
  }

  std::string db_ = dir_.File("fixture_predictor.db");
  std::string model_ = dir_.File("fixture_model.txt");
};

TEST_F(CliPredictorTest, FitThenEvalReportRankCorrelation) {
  Search(db_, 120);
  // fit: 20% of the 120 held out (seed 0), the rest fitted on; the table's "held out" row.
  const auto fit = Hwnas({"predictor", "fit", "--db", db_, "--out", model_});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_EQ(fit.err, "fitted on 96 candidates of space nb201; saved to " + model_ + "\n");
  ASSERT_TRUE(fs::exists(model_));
  EXPECT_EQ(test::ReadFile(model_).rfind("hwnas-accuracy-predictor 2 ", 0), 0u);
  const auto lines = test::SplitLines(fit.out);
  ASSERT_EQ(lines.size(), 3u) << fit.out;
  EXPECT_TRUE(
      std::regex_search(lines[0], std::regex("^set +candidates +kendall_tau +spearman_rho")))
      << lines[0];
  std::smatch held_out;
  ASSERT_TRUE(std::regex_match(lines[2], held_out,
                               std::regex("held out +24 +(-?[0-9.]+) +(-?[0-9.]+) +([0-9.]+)")))
      << lines[2];
  // Measured: 0.797 on the 24 held-out candidates.
  EXPECT_GT(std::stod(held_out[1]), 0.3) << lines[2];

  // eval: every successful evaluation of the run, CSV.
  const auto eval =
      Hwnas({"predictor", "eval", "--model", model_, "--db", db_, "--format", "csv"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(eval.err, "");
  EXPECT_EQ(test::SplitFields(test::SplitLines(eval.out).at(1)).at(1), "120");
  // Measured: 0.933 (96 of the 120 were fitted on, so above the held-out figure).
  EXPECT_GT(KendallOf(eval.out, "run"), 0.6) << eval.out;

  // The same model read twice gives the same report.
  const auto again =
      Hwnas({"predictor", "eval", "--model", model_, "--db", db_, "--format", "csv"});
  EXPECT_EQ(again.out, eval.out);
}

TEST_F(CliPredictorTest, MissingDbFlag) {
  ExpectOneLineError(Hwnas({"predictor", "fit", "--out", model_}),
                     {"hwnas predictor fit: --db is required"});
  EXPECT_FALSE(fs::exists(model_));
  // eval reads its model before the database, so give it a real one.
  Search(db_, 40);
  ASSERT_EQ(Hwnas({"predictor", "fit", "--db", db_, "--out", model_}).exit_code, 0);
  ExpectOneLineError(Hwnas({"predictor", "eval", "--model", model_}),
                     {"hwnas predictor eval: --db is required"});
  ExpectOneLineError(Hwnas({"predictor", "eval", "--db", db_}),
                     {"hwnas predictor eval: --model is required"});
  ExpectOneLineError(Hwnas({"predictor", "fit", "--db", db_}),
                     {"hwnas predictor fit: --out is required"});
}

TEST_F(CliPredictorTest, MissingDatabaseFileIsNamedAndNotCreated) {
  const std::string absent = dir_.File("fixture_absent.db");
  ExpectOneLineError(Hwnas({"predictor", "fit", "--db", absent, "--out", model_}),
                     {absent + ": no such database file"});
  EXPECT_FALSE(fs::exists(absent));
  EXPECT_FALSE(fs::exists(model_));
}

TEST_F(CliPredictorTest, ModelFromAMissingPathIsNamed) {
  Search(db_, 40);
  const std::string absent = dir_.File("fixture_absent_model.txt");
  ExpectOneLineError(Hwnas({"predictor", "eval", "--model", absent, "--db", db_}),
                     {absent + ": cannot open file"});
}

TEST_F(CliPredictorTest, DamagedModelIsNamed) {
  Search(db_, 40);
  ASSERT_EQ(Hwnas({"predictor", "fit", "--db", db_, "--out", model_}).exit_code, 0);
  const std::string text = test::ReadFile(model_);
  const std::string truncated =
      dir_.Write("fixture_truncated_model.txt", text.substr(0, text.size() / 2));
  ExpectOneLineError(Hwnas({"predictor", "eval", "--model", truncated, "--db", db_}),
                     {truncated + ": checksum mismatch (truncated or edited file)"});
  std::string newer = text;
  newer.replace(0, std::string("hwnas-accuracy-predictor 2").size(), "hwnas-accuracy-predictor 9");
  const std::string version = dir_.Write("fixture_version_9_model.txt", newer);
  ExpectOneLineError(Hwnas({"predictor", "eval", "--model", version, "--db", db_}),
                     {version + ": model file version 9, this hwnas reads version 2"});
}

TEST_F(CliPredictorTest, TooFewEvaluationsToFit) {
  // One evaluation: nothing is held out (20% of 1 rounds down) and one is too few to fit on.
  Search(db_, 1);
  ExpectOneLineError(Hwnas({"predictor", "fit", "--db", db_, "--out", model_}),
                     {db_, "hwnas predictor fit: 1 successful evaluation(s) left to fit on after "
                           "holding out 0; at least 2 are needed"});
  EXPECT_FALSE(fs::exists(model_)) << "a failed fit wrote a model";
  // Nor can a model be judged on one evaluation.
  const std::string db2 = dir_.File("fixture_predictor_40.db");
  Search(db2, 40);
  ASSERT_EQ(Hwnas({"predictor", "fit", "--db", db2, "--out", model_}).exit_code, 0);
  ExpectOneLineError(Hwnas({"predictor", "eval", "--model", model_, "--db", db_}),
                     {db_, "hwnas predictor eval: the run has 1 successful evaluation(s); at least 2 "
                           "are needed to rank"});
}

TEST_F(CliPredictorTest, HoldingOutAlmostEverythingLeavesTooFew) {
  // 5 evaluations with 90% held out: 4 held out, 1 left to fit on.
  Search(db_, 5);
  ExpectOneLineError(
      Hwnas({"predictor", "fit", "--db", db_, "--out", model_, "--holdout", "0.9"}),
      {"1 successful evaluation(s) left to fit on after holding out 4; at least 2 are needed"});
  EXPECT_FALSE(fs::exists(model_));
  ExpectOneLineError(Hwnas({"predictor", "fit", "--db", db_, "--out", model_, "--holdout", "1"}),
                     {"hwnas predictor fit: --holdout: give a share in [0, 1)"});
}

TEST_F(CliPredictorTest, EmptyDatabaseAndUnknownRun) {
  {
    Store empty(db_, Store::Mode::kCreateIfMissing);
  }
  ExpectOneLineError(Hwnas({"predictor", "fit", "--db", db_, "--out", model_}),
                     {db_ + ": the database holds no runs yet"});
  EXPECT_FALSE(fs::exists(model_));
  const std::string db2 = dir_.File("fixture_predictor_40.db");
  Search(db2, 40);
  ExpectOneLineError(Hwnas({"predictor", "fit", "--db", db2, "--out", model_, "--run", "7"}),
                     {db2 + ": no run with id 7"});
}

}  // namespace
}  // namespace hwnas
