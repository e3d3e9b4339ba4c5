#include "core/config_node.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;
using test::ThrowsWith;

// Every error must name the file it came from, so the fixtures live in real files.
class ConfigNodeTest : public ::testing::Test {
 protected:
  ConfigNode Load(const std::string& name, const std::string& text) {
    return ConfigNode::LoadFile(dir_.Write(name, text));
  }
  TempDir dir_;
};

TEST_F(ConfigNodeTest, ReadsTypedValues) {
  const auto node = Load("fixture_ok.yaml",
                         "name: quick\ncount: 42\nratio: 0.25\nflag: true\nlist: [a, b, c]\n"
                         "nested:\n  depth: 3\n");
  EXPECT_EQ(node.String("name"), "quick");
  EXPECT_EQ(node.Int("count", 0, 100), 42);
  EXPECT_DOUBLE_EQ(node.Double("ratio", 0, 1), 0.25);
  EXPECT_TRUE(node.Bool("flag", false));
  EXPECT_FALSE(node.Bool("absent", false));
  EXPECT_EQ(node.Int("absent", 0, 10, 7), 7);
  EXPECT_EQ(node.StringList("list"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(node.Child("nested").Int("depth", 1, 5), 3);
  EXPECT_EQ(node.Child("nested").key_path(), "nested");
  EXPECT_EQ(node.Choice("name", {"slow", "quick"}), "quick");
}

TEST_F(ConfigNodeTest, MalformedYamlNamesFileAndLine) {
  // Line 4 is indented one space less than the mapping it closes.
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { Load("fixture_bad_indent.yaml", "a: 1\nb:\n  c: 2\n d: 3\n"); },
                              {"fixture_bad_indent.yaml:4: malformed YAML"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { Load("fixture_open_flow.yaml", "a: 1\nb: [1, 2\nc: 3\n"); },
                              {"fixture_open_flow.yaml:3: malformed YAML"}));
}

TEST_F(ConfigNodeTest, TopLevelMustBeAMapping) {
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Load("fixture_list.yaml", "- 1\n- 2\n"); },
                                      {"fixture_list.yaml:1:", "must be a YAML mapping"}));
}

TEST_F(ConfigNodeTest, UnknownKeyNamesLineAndValidKeys) {
  const auto node = Load("fixture_unknown_key.yaml",
                         "# comment\nkind: nsga2\n\npopulaton: 50\n");  // typo on line 4
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        node.ExpectKeys({"kind", "population", "tournament"});
      },
      {"fixture_unknown_key.yaml:4: unknown key 'populaton'; valid keys: kind, population, "
       "tournament"}));
}

TEST_F(ConfigNodeTest, UnknownNestedKeyNamesKeyPathAndLine) {
  const auto node = Load("fixture_nested_key.yaml", "a: 1\nsampler:\n  kind: nsga2\n  bogus: 3\n");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        node.Child("sampler").ExpectKeys({"kind", "population"});
      },
      {"fixture_nested_key.yaml:4: sampler: unknown key 'bogus'; valid keys: kind, population"}));
}

TEST_F(ConfigNodeTest, WrongTypeNamesValue) {
  const auto node = Load("fixture_type.yaml", "a: 1\nbatch: abc\nratio: fast\nflag: yes\n");
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { node.Int("batch", 1, 100); },
                              {"fixture_type.yaml:2: batch: expected an integer, got 'abc'"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { node.Double("ratio", 0, 1); },
                              {"fixture_type.yaml:3: ratio: expected a number, got 'fast'"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { node.Bool("flag", false); },
                              {"fixture_type.yaml:4: flag: expected true or false, got 'yes'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { node.Child("a").Items(); },
                                      {"fixture_type.yaml:1: a: expected a list"}));
}

TEST_F(ConfigNodeTest, IntegerWithTrailingTextIsRejected) {
  const auto node = Load("fixture_trailing.yaml", "batch: 12abc\nfloat: 1.5\n");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { node.Int("batch", 1, 100); },
                                      {"expected an integer, got '12abc'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { node.Int("float", 1, 100); },
                                      {"expected an integer, got '1.5'"}));
}

TEST_F(ConfigNodeTest, OutOfRangeNamesBounds) {
  const auto node = Load("fixture_range.yaml", "threads: 5000\nrate: 1.5\n");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { node.Int("threads", 0, 4096); },
      {"fixture_range.yaml:1: threads: value 5000 out of range [0, 4096]"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>([&] { node.Double("rate", 0.0, 1.0); },
                              {"fixture_range.yaml:2: rate: value 1.5 out of range [0, 1]"}));
}

TEST_F(ConfigNodeTest, MissingKeyIsNamed) {
  const auto node = Load("fixture_missing_key.yaml", "a: 1\n");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { node.String("seed"); },
                                      {"fixture_missing_key.yaml", "missing key 'seed'"}));
}

TEST_F(ConfigNodeTest, MissingFileIsAnIoError) {
  const std::string path = dir_.File("fixture_does_not_exist.yaml");
  EXPECT_TRUE(
      ThrowsWith<IoError>([&] { ConfigNode::LoadFile(path); }, {path + ": cannot open file"}));
}

TEST_F(ConfigNodeTest, ChoiceErrorListsValidChoices) {
  const auto node = Load("fixture_choice.yaml", "sampler:\n  kind: nsga3\n");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        node.Child("sampler").Choice("kind", {"random", "nsga2", "evolution"});
      },
      {"fixture_choice.yaml:2: sampler.kind: unknown value 'nsga3'; valid: random, nsga2, "
       "evolution"}));
}

TEST_F(ConfigNodeTest, SequenceItemsCarryTheirOwnLines) {
  const auto node = Load("fixture_items.yaml", "sizes:\n  - 1\n  - 2\n  - big\n");
  const auto items = node.Child("sizes").Items();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].AsInt(0, 9), 2);
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { items[2].AsInt(0, 9); },
                                      {"fixture_items.yaml:4: sizes[2]: expected an integer, "
                                       "got 'big'"}));
}

TEST_F(ConfigNodeTest, PathIsRelativeToTheFile) {
  const auto node = Load("fixture_path.yaml", "data: ../data/x.csv\nabs: /etc/x\n");
  EXPECT_EQ(node.Path("data"), (dir_.path().parent_path() / "data/x.csv").string());
  EXPECT_EQ(node.Path("abs"), "/etc/x");
}

TEST_F(ConfigNodeTest, DuplicateKeyIsRejected) {
  // YAML requires unique keys; silently taking the first of two `seed:` lines would run a
  // different search than the file seems to ask for.
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        const auto node = Load("fixture_duplicate_key.yaml", "seed: 1\nbatch: 5\nseed: 2\n");
        node.ExpectKeys({"seed", "batch"});
        node.Int("seed", 0, 10);
      },
      {"fixture_duplicate_key.yaml:3", "seed"}));
}

}  // namespace
}  // namespace hwnas
