// The tiny joint architecture x compression search, configs/runs/fmnist-smoke.yaml, end to end
// through the real binary: teacher, supernet, distillation proxies, device costs and the store.
// Needs Fashion-MNIST (Debian package dataset-fashion-mnist); about a minute on 2 cores.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

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
  EXPECT_NE(r.err.find("final training [0/"), std::string::npos) << r.err;
  for (const std::string& line : test::SplitLines(r.err)) {
    if (line.starts_with("final training [") && !line.starts_with("final training [0/")) {
      EXPECT_EQ(line.find("ETA ?"), std::string::npos) << line;
    }
  }

  auto sql = test::SqliteDb::ReadOnly(db);
  EXPECT_EQ(sql.Int("SELECT COUNT(*) FROM evaluations"), 8);
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

}  // namespace
}  // namespace hwnas
