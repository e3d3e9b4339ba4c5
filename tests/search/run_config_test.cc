#include "search/run_config.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::RunYaml;
using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

TEST(RunConfig, ReadsTheQuickstart) {
  const RunConfig config = LoadRunConfig(SourcePath("configs/runs/quickstart.yaml"));
  EXPECT_EQ(config.space_path, SourcePath("configs/spaces/nb201.yaml"));
  ASSERT_EQ(config.device_paths.size(), 6u);
  EXPECT_EQ(config.device_paths[0], SourcePath("configs/devices/edgegpu.yaml"));
  EXPECT_EQ(config.sampler.kind, "nsga2");
  EXPECT_EQ(config.sampler.population, 50);
  EXPECT_EQ(config.budget_evaluations, 1000);
  EXPECT_EQ(config.batch, 50);
  EXPECT_EQ(config.seed, 0u);
  EXPECT_FALSE(config.energy_objective);
  EXPECT_EQ(config.Evaluator().String("dataset"), "cifar10");
}

TEST(RunConfig, OverridesReplaceValuesAndAreStored) {
  const RunConfig config = LoadRunConfig(SourcePath("configs/runs/quickstart.yaml"),
                                         {.seed = 9,
                                          .threads = 2,
                                          .budget_evaluations = 77,
                                          .sampler = "random",
                                          .devices = std::vector<std::string>{"pixel3"}});
  EXPECT_EQ(config.seed, 9u);
  EXPECT_EQ(config.threads, 2);
  EXPECT_EQ(config.budget_evaluations, 77);
  EXPECT_EQ(config.sampler.kind, "random");
  ASSERT_EQ(config.device_paths.size(), 1u);
  // The stored text carries the overrides, so a resume reads the same run back.
  const RunConfig stored = ParseStoredRunConfig(config.text, config.origin);
  EXPECT_EQ(stored.seed, 9u);
  EXPECT_EQ(stored.budget_evaluations, 77);
  EXPECT_EQ(stored.sampler.kind, "random");
  EXPECT_EQ(stored.device_paths, config.device_paths);
  EXPECT_EQ(stored.space_path, config.space_path);
}

TEST(RunConfig, DroppingADeviceDropsItsConstraints) {
  TempDir dir;
  RunYaml yaml;
  yaml.extra =
      "constraints:\n  - {device: edgegpu, max_latency_ms: 3}\n"
      "  - {device: edgetpu, max_latency_ms: 1}\n";
  const RunConfig config = LoadRunConfig(yaml.WriteTo(dir, "fixture_run.yaml"),
                                         {.devices = std::vector<std::string>{"edgetpu"}});
  ASSERT_EQ(config.constraints.size(), 1u);
  EXPECT_EQ(config.constraints[0].device, "edgetpu");
  EXPECT_EQ(config.constraints[0].max_latency_ms, 1.0);
}

class RunConfigErrorTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(RunConfigErrorTest, UnknownDeviceListsValidDevices) {
  RunYaml yaml;
  yaml.devices = "[edgegpu, tpu9000]";
  const std::string path = yaml.WriteTo(dir_, "fixture_device.yaml");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadRunConfig(path); },
      {path + ":6: devices[1]: unknown device 'tpu9000'; valid: " + test::DeviceConfigList()}));
}

TEST_F(RunConfigErrorTest, DeviceListedTwice) {
  RunYaml yaml;
  yaml.devices = "[edgegpu, edgegpu]";
  const std::string path = yaml.WriteTo(dir_, "fixture_twice.yaml");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadRunConfig(path); },
                                      {path + ":6: devices[1]: device 'edgegpu' listed twice"}));
}

TEST_F(RunConfigErrorTest, UnknownSamplerKindNamesLineAndKinds) {
  RunYaml yaml;
  yaml.sampler = "nsga3";
  const std::string path = yaml.WriteTo(dir_, "fixture_sampler.yaml");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadRunConfig(path); },
      {path + ":8: sampler.kind: unknown value 'nsga3'; valid: random, nsga2, evolution"}));
}

TEST_F(RunConfigErrorTest, UnknownTopLevelKey) {
  const std::string path = dir_.Write("fixture_key.yaml", RunYaml{}.Text() + "budgets: 3\n");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadRunConfig(path); },
      {path + ":14: unknown key 'budgets'; valid keys: space, evaluator, devices, objectives, "
              "constraints, sampler, budget, batch, seed, threads"}));
}

TEST_F(RunConfigErrorTest, ConstraintOnUnusedDevice) {
  RunYaml yaml;
  yaml.extra = "constraints:\n  - device: pixel3\n    max_latency_ms: 3\n";
  const std::string path = yaml.WriteTo(dir_, "fixture_constraint.yaml");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadRunConfig(path); },
      {path + ":15: constraints[0].device: constraint on device 'pixel3', which the run does "
              "not use; run devices: edgegpu, edgetpu"}));
}

TEST_F(RunConfigErrorTest, ObjectivesMustIncludeAccuracyAndLatency) {
  RunYaml yaml;
  yaml.extra = "objectives: [accuracy, size]\n";
  const std::string path = yaml.WriteTo(dir_, "fixture_objectives.yaml");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadRunConfig(path); },
      {path + ":14: objectives[1]: unknown objective 'size'; valid: accuracy, latency, energy"}));
}

TEST_F(RunConfigErrorTest, MissingFile) {
  const std::string path = dir_.File("fixture_absent.yaml");
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadRunConfig(path); }, {path + ": cannot open file"}));
}

}  // namespace
}  // namespace hwnas
