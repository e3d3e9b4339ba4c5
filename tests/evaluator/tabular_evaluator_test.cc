#include <gtest/gtest.h>

#include <algorithm>

#include "core/errors.h"
#include "evaluator/evaluator.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::ThrowsWith;

// Rows 0 and 1 of data/nas-bench-201/nb201_test_accuracy.csv; values below are copied from it.
using test::kNb201Arch0;
const char* const kArch1 =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "skip_connect~2|";

std::unique_ptr<Evaluator> Make(const std::string& yaml) {
  return MakeEvaluator(ConfigNode::LoadString(yaml, "fixture_evaluator.yaml"));
}

std::string TabularYaml(const std::string& dataset) {
  return "kind: tabular\nfile: " + SourcePath("data/nas-bench-201/nb201_test_accuracy.csv") +
         "\ndataset: " + dataset + "\n";
}

NetworkSpec Spec(const std::string& key) {
  NetworkSpec spec;
  spec.key = key;
  spec.layers = {{LayerOp::kLinear, 8, 2, 1, 1, 1, 0, 1, {}}};
  return spec;
}

TEST(TabularEvaluator, ReadsTheTableExactly) {
  const auto cifar10 = Make(TabularYaml("cifar10"));
  EXPECT_EQ(cifar10->kind(), "tabular");
  const EvalResult r0 = cifar10->Evaluate(Spec(kNb201Arch0));
  ASSERT_TRUE(r0.ok()) << r0.error;
  EXPECT_EQ(r0.accuracy, 85.86333333333334);
  EXPECT_EQ(r0.metrics.at("params"), 18.0);
  EXPECT_EQ(r0.metrics.at("macs"), 16.0);
  EXPECT_GE(r0.seconds, 0.0);
  EXPECT_EQ(cifar10->Evaluate(Spec(kArch1)).accuracy, 93.66000000000001);
  EXPECT_EQ(Make(TabularYaml("cifar100"))->Evaluate(Spec(kArch1)).accuracy, 70.29333326822916);
  EXPECT_EQ(Make(TabularYaml("imagenet16_120"))->Evaluate(Spec(kArch1)).accuracy,
            44.03333332316081);
}

TEST(TabularEvaluator, UnknownArchitectureIsAFailNotAThrow) {
  const auto evaluator = Make(TabularYaml("cifar10"));
  const EvalResult r = evaluator->Evaluate(Spec("|none~0|+|bogus|"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(EvalStatusName(r.status), "FAIL");
  EXPECT_EQ(r.error, "no accuracy in the table for |none~0|+|bogus|");
}

TEST(TabularEvaluator, ConfigErrorsNameLineAndChoices) {
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [] { Make(TabularYaml("mnist")); },
      {"fixture_evaluator.yaml:3: dataset: unknown value 'mnist'; valid: cifar10, cifar100, "
       "imagenet16_120"}));
  const auto kinds = EvaluatorKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "tabular"), kinds.end());
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [] { Make("kind: lookup\n"); },
      {"fixture_evaluator.yaml:1: kind: unknown value 'lookup'; valid: " + JoinNames(kinds)}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [] { Make(TabularYaml("cifar10") + "epochs: 3\n"); },
      {"fixture_evaluator.yaml:4: unknown key 'epochs'; valid keys: kind, file, dataset, "
       "key_column"}));
}

TEST(TabularEvaluator, FileErrorsNameTheFile) {
  // The missing table and the config line that names it.
  EXPECT_TRUE(ThrowsWith<Error>(
      [] { Make("kind: tabular\nfile: /nonexistent/fixture_acc.csv\ndataset: cifar10\n"); },
      {"fixture_evaluator.yaml:2", "/nonexistent/fixture_acc.csv: cannot open file"}));
  EXPECT_TRUE(ThrowsWith<IoError>([] { Make(TabularYaml("cifar10") + "key_column: arch\n"); },
                                  {"no column 'arch'; columns: arch_index, arch_str"}));
}

}  // namespace
}  // namespace hwnas
