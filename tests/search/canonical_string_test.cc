#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/csv_table.h"
#include "core/errors.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

const char* const kValidOps = "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3";

// Every candidate of a space, in mixed-radix order of the knobs.
std::vector<Candidate> Enumerate(const SearchSpace& space) {
  std::vector<Candidate> all;
  Candidate c;
  c.choices.assign(space.knobs().size(), 0);
  while (true) {
    all.push_back(c);
    size_t k = 0;
    while (k < c.choices.size() &&
           ++c.choices[k] == static_cast<int>(space.knobs()[k].choices.size())) {
      c.choices[k++] = 0;
    }
    if (k == c.choices.size()) return all;
  }
}

class Nb201CanonicalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    space_ = LoadSearchSpace(SourcePath("configs/spaces/nb201.yaml")).release();
  }
  static void TearDownTestSuite() { delete space_; }
  static const SearchSpace* space_;
};
const SearchSpace* Nb201CanonicalTest::space_ = nullptr;

TEST_F(Nb201CanonicalTest, FormattedStringsAreTheBenchmarkTablesArchStrings) {
  EXPECT_EQ(space_->Size(), 15625.0);
  const auto all = Enumerate(*space_);
  ASSERT_EQ(all.size(), 15625u);
  std::set<std::string> formatted;
  for (const auto& c : all) {
    ASSERT_TRUE(space_->IsValid(c));
    formatted.insert(space_->Format(c));
  }
  EXPECT_EQ(formatted.size(), 15625u) << "two candidates share a canonical string";

  const CsvTable table = CsvTable::Load(SourcePath("data/nas-bench-201/nb201_test_accuracy.csv"));
  std::set<std::string> benchmark;
  const size_t column = table.Column("arch_str");
  for (size_t row = 0; row < table.rows(); ++row) benchmark.insert(table.Cell(row, column));
  EXPECT_EQ(benchmark.size(), 15625u);
  EXPECT_TRUE(formatted == benchmark) << "the space's strings differ from the table's arch_str";
}

TEST_F(Nb201CanonicalTest, CellsThatIgnoreTheirInputAreExactlyTheChanceLevelOnes) {
  // A cell with no path from its input to its output that no `none` edge cuts outputs zeros:
  // the network's accuracy is chance (10% on CIFAR-10). The space must name exactly the 341
  // cells NAS-Bench-201 trained to chance, no more and no fewer.
  const CsvTable table = CsvTable::Load(SourcePath("data/nas-bench-201/nb201_test_accuracy.csv"));
  const size_t arch = table.Column("arch_str"), accuracy = table.Column("cifar10_test_acc");
  std::map<std::string, double> accuracies;
  for (size_t row = 0; row < table.rows(); ++row) {
    accuracies[table.Cell(row, arch)] = std::stod(table.Cell(row, accuracy));
  }
  int ignoring = 0, chance = 0, ignoring_at_chance = 0;
  for (const auto& c : Enumerate(*space_)) {
    const bool ignores = space_->IgnoresInput(c);
    const bool at_chance = accuracies.at(space_->Format(c)) < 11;
    ignoring += ignores;
    chance += at_chance;
    ignoring_at_chance += ignores && at_chance;
  }
  EXPECT_EQ(chance, 341);
  EXPECT_EQ(ignoring, 341);
  EXPECT_EQ(ignoring_at_chance, ignoring) << "a cell that ignores its input trained above chance";
}

TEST_F(Nb201CanonicalTest, EveryCandidateRoundTrips) {
  int failures = 0;
  std::string first_error;
  for (const auto& c : Enumerate(*space_)) {
    const std::string text = space_->Format(c);
    try {
      if (space_->Parse(text) != c) ++failures;
    } catch (const std::exception& e) {
      if (failures++ == 0) first_error = e.what();
    }
  }
  EXPECT_EQ(failures, 0) << "of 15625 candidates; first error: " << first_error;
}

TEST_F(Nb201CanonicalTest, KnownStringParsesToKnownChoices) {
  // Edges in arch-string order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
  const Candidate c = space_->Parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "skip_connect~2|");
  EXPECT_EQ(c.choices, (std::vector<int>{3, 3, 4, 1, 3, 1}));
  EXPECT_EQ(space_->knobs()[2].name, "edge_2_1");
  EXPECT_EQ(space_->Expand(c).key, space_->Format(c));
}

// An edge off every input-to-output path of non-none edges is `none` to a surrogate.
TEST_F(Nb201CanonicalTest, SurrogatesSeeDeadEdgesAsNone) {
  const auto live = space_->Expand(space_->Parse(
      "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"));
  const auto other_dead_op = space_->Expand(space_->Parse(
      "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"));
  // The edge 1<-0 reaches node 1, whose only ways out (2<-1, 3<-1) are none: it is dead.
  EXPECT_EQ(live.choices, (std::vector<int>{0, 1, 0, 2, 0, 4}));
  EXPECT_EQ(live.choices, other_dead_op.choices);
  EXPECT_NE(live.key, other_dead_op.key);
  // A live edge keeps its op.
  const auto all_live = space_->Expand(space_->Parse(
      "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"));
  EXPECT_EQ(all_live.choices, (std::vector<int>{3, 1, 2, 2, 0, 4}));
}

TEST_F(Nb201CanonicalTest, BadStringsGiveClearErrors) {
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { space_->Parse("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"); },
      {"unknown op 'conv_5x5'", kValidOps}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { space_->Parse("|none~0|+|none~1|none~1|+|none~0|none~1|none~2|"); },
      {"edge 2 must come from node 0"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { space_->Parse("|none~0||none~0|none~1|+|none~0|none~1|none~2|"); },
      {"'|none~0||none~0|none~1|+|none~0|none~1|none~2|'", "before node 2"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { space_->Parse("|none~0|+|none~0|none~1|+|none~0|none~1|"); },
      {"nb201 architecture '|none~0|+|none~0|none~1|+|none~0|none~1|'", "edge 6"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { space_->Parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x"); },
      {"'|none~0|+|none~0|none~1|+|none~0|none~1|none~2|x'",
       "expected the form |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"}));
}

TEST_F(Nb201CanonicalTest, EveryTruncationAndDeletionIsAConfigError) {
  // No prefix of a canonical string, and no string one character short of it, names a candidate;
  // all must fail cleanly rather than read out of bounds.
  const std::string text =
      "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|";
  ASSERT_EQ(space_->Format(Candidate{{2, 1, 4, 0, 3, 1}}), text);
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse(text.substr(0, n)); }, {"nb201"}))
        << "prefix of length " << n;
    std::string deleted = text;
    deleted.erase(n, 1);
    EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse(deleted); }, {"nb201"}))
        << "without character " << n;
  }
}

TEST(Nb201Space, ConfigErrors) {
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [] {
        MakeSearchSpace(
            ConfigNode::LoadString("kind: nb201\nops: [none, conv]\n", "fixture_space.yaml"));
      },
      {"fixture_space.yaml:2: ops[1]: unknown op 'conv'; valid: ", kValidOps}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [] { MakeSearchSpace(ConfigNode::LoadString("kind: nb202\n", "fixture_space.yaml")); },
      {"fixture_space.yaml:1: kind: unknown value 'nb202'; valid: nb201, categorical"}));
  const auto small = MakeSearchSpace(
      ConfigNode::LoadString("kind: nb201\nops: [none, nor_conv_3x3]\n", "fixture_space.yaml"));
  EXPECT_EQ(small->Size(), 64.0);
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { small->Parse("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"); },
      {"unknown op 'skip_connect'", "none, nor_conv_3x3"}));
}

TEST(DistinctSampledNetworks, GivesEveryNetworkOfASmallSpaceOnceThenRefusesMore) {
  const auto small = MakeSearchSpace(
      ConfigNode::LoadString("kind: nb201\nops: [none, nor_conv_3x3]\n", "fixture_space.yaml"));
  Rng rng(3);
  std::set<std::string> keys;
  for (const NetworkSpec& spec : DistinctSampledNetworks(*small, 64, rng)) keys.insert(spec.key);
  EXPECT_EQ(keys.size(), 64u);
  EXPECT_TRUE(ThrowsWith<UnsupportedError>([&] { DistinctSampledNetworks(*small, 65, rng); },
                                           {"gave only 64 distinct networks", "65 were asked for"}));
}

// A 3 x 3 x 2 categorical space from a fixture YAML.
class CategoricalCanonicalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = dir_.Write("fixture_categorical_space.yaml",
                                        "kind: categorical\nname: toy\nknobs:\n"
                                        "  - {name: width, choices: [8, 16, 32]}\n"
                                        "  - {name: depth, choices: [1, 2, 3]}\n"
                                        "  - {name: act, choices: [relu, gelu]}\n");
    space_ = LoadSearchSpace(path);
  }
  TempDir dir_;
  std::unique_ptr<SearchSpace> space_;
};

TEST_F(CategoricalCanonicalTest, EveryCandidateRoundTrips) {
  EXPECT_EQ(space_->name(), "toy");
  EXPECT_EQ(space_->Size(), 18.0);
  const auto all = Enumerate(*space_);
  ASSERT_EQ(all.size(), 18u);
  std::set<std::string> formatted;
  for (const auto& c : all) {
    const std::string text = space_->Format(c);
    EXPECT_EQ(space_->Parse(text), c) << text;
    formatted.insert(text);
  }
  EXPECT_EQ(formatted.size(), 18u);
  EXPECT_EQ(space_->Format(Candidate{{1, 2, 0}}), "width=16;depth=3;act=relu");
  EXPECT_EQ(space_->Expand(Candidate{{1, 2, 0}}).key, "width=16;depth=3;act=relu");
}

TEST_F(CategoricalCanonicalTest, BadStringsGiveClearErrors) {
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse("width=16;depth=4;act=relu"); },
                                      {"knob 'depth' has no choice '4'; valid: 1, 2, 3"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse("width=16;act=relu;depth=1"); },
                                      {"expected knob 'depth' at position 2"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse("width=16;depth=1;act=relu;extra=1"); },
                                      {"unexpected text after the last knob"}));
}

TEST_F(CategoricalCanonicalTest, TruncatedStringsAreConfigErrors) {
  // "width=16" ends before the second knob: a clear ConfigError, not an exception from
  // string_view::substr reading past the end.
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse("width=16"); },
                                      {"candidate 'width=16'", "depth"}));
  const std::string text = "width=16;depth=3;act=relu";
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse(text.substr(0, n)); }, {"candidate"}))
        << "prefix '" << text.substr(0, n) << "'";
  }
}

TEST_F(CategoricalCanonicalTest, OnlyTheCanonicalStringParses) {
  // A canonical string is the dedup key: an accepted non-canonical spelling (trailing ';')
  // would name the same candidate twice.
  for (const std::string text : {"width=16;depth=3;act=relu;", "width=16;depth=3;act=relu;;"}) {
    EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space_->Parse(text); }, {"candidate"}))
        << "'" << text << "' was accepted";
  }
}

TEST(CategoricalSpace, ConfigErrors) {
  auto make = [](const std::string& yaml) {
    return MakeSearchSpace(ConfigNode::LoadString(yaml, "fixture_categorical.yaml"));
  };
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { make("kind: categorical\nknobs:\n  - {name: a, choices: [x, 'y;z']}\n"); },
      {"fixture_categorical.yaml:3", "choice 'y;z' may not contain ';' or '='"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { make("kind: categorical\nknobs:\n  - {name: a, choices: []}\n"); },
      {"fixture_categorical.yaml:3", "a knob needs at least one choice"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { make("kind: categorical\nknobs: []\n"); },
                              {"fixture_categorical.yaml:2", "the space needs at least one knob"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { make("kind: categorical\nknobs:\n  - {name: a, options: [x]}\n"); },
      {"fixture_categorical.yaml:3", "unknown key 'options'; valid keys: name, choices"}));
}

}  // namespace
}  // namespace hwnas
