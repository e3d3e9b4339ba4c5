#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/csv_table.h"
#include "core/errors.h"
#include "hwmodels/device_model.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

using test::kNb201Arch0;

std::unique_ptr<DeviceModel> Shipped(const std::string& name) {
  return LoadDeviceModel(SourcePath("configs/devices/" + name + ".yaml"));
}

NetworkSpec Spec(const std::string& key) {
  NetworkSpec spec;
  spec.key = key;
  return spec;
}

// Row 0 of data/hw-nas-bench/nb201_cifar10_hw.csv, copied from the file.
TEST(TableDeviceModel, ReadsMeasurementsExactly) {
  const auto gpu = Shipped("edgegpu");
  EXPECT_EQ(gpu->name(), "edgegpu");
  EXPECT_EQ(gpu->info().kind, "table");
  EXPECT_TRUE(gpu->info().provides_energy);
  const DeviceCost cost = gpu->Cost(Spec(kNb201Arch0));
  ASSERT_TRUE(cost.ok) << cost.error;
  EXPECT_EQ(cost.latency_ms, 5.807418537139893);
  EXPECT_EQ(cost.energy_mj, 24.226614330768584);
  EXPECT_EQ(CostSourceName(cost.source), "measured");

  const DeviceCost tpu = Shipped("edgetpu")->Cost(Spec(kNb201Arch0));
  EXPECT_EQ(tpu.latency_ms, 0.9571811309997429);
  EXPECT_EQ(tpu.energy_mj, std::nullopt);
  EXPECT_EQ(CostSourceName(Shipped("eyeriss")->Cost(Spec(kNb201Arch0)).source), "predicted");
}

TEST(TableDeviceModel, AllShippedDevicesLoad) {
  for (const auto& name : test::kShippedDevices) {
    const auto device = Shipped(name);
    EXPECT_EQ(device->name(), name);
    EXPECT_FALSE(device->info().description.empty()) << name;
  }
  const auto kinds = DeviceKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "table"), kinds.end());
  EXPECT_FALSE(Shipped("edgetpu")->info().provides_energy);
}

TEST(TableDeviceModel, MissingValuesAreFailsNeverZeros) {
  // Every row of the table: a -1 sentinel (edgetpu) or an empty cell is a FAIL with its reason;
  // every other value comes through unchanged.
  const CsvTable table = CsvTable::Load(SourcePath("data/hw-nas-bench/nb201_cifar10_hw.csv"));
  const size_t key = table.Column("arch_str");
  const size_t column = table.Column("edgetpu_latency_ms");
  const auto tpu = Shipped("edgetpu");
  int sentinels = 0, empties = 0;
  for (size_t row = 0; row < table.rows(); ++row) {
    const auto value = table.Number(row, column);
    const DeviceCost cost = tpu->Cost(Spec(table.Cell(row, key)));
    if (!value || *value == -1) {
      sentinels += value.has_value();
      empties += !value.has_value();
      EXPECT_FALSE(cost.ok) << table.Cell(row, key);
      EXPECT_EQ(cost.error, "edgetpu: no valid latency measured for this architecture");
    } else {
      ASSERT_TRUE(cost.ok) << table.Cell(row, key) << ": " << cost.error;
      EXPECT_EQ(cost.latency_ms, *value);
    }
  }
  EXPECT_GT(sentinels, 0);
  EXPECT_GT(empties, 0);
}

TEST(TableDeviceModel, MissingEnergyIsAFail) {
  // eyeriss has latency for every architecture but energy for only some.
  const CsvTable table = CsvTable::Load(SourcePath("data/hw-nas-bench/nb201_cifar10_hw.csv"));
  const size_t energy = table.Column("eyeriss_energy_mJ");
  const auto eyeriss = Shipped("eyeriss");
  size_t row = 0;
  while (row < table.rows() && table.Number(row, energy)) ++row;
  ASSERT_LT(row, table.rows()) << "expected some eyeriss energy to be missing";
  const DeviceCost cost = eyeriss->Cost(Spec(table.Cell(row, table.Column("arch_str"))));
  EXPECT_FALSE(cost.ok);
  EXPECT_EQ(cost.error, "eyeriss: no valid energy measured for this architecture");
}

TEST(TableDeviceModel, UnknownArchitectureIsAFail) {
  const DeviceCost cost = Shipped("pixel3")->Cost(Spec("|nothing|"));
  EXPECT_FALSE(cost.ok);
  EXPECT_EQ(cost.error, "pixel3: architecture not in the measurement table");
}

class DeviceYamlTest : public ::testing::Test {
 protected:
  std::string DeviceYaml(const std::string& name, const std::string& file,
                         const std::string& extra = "") {
    return "name: " + name + "\nkind: table\nsource: measured\ntable:\n  file: " + file +
           "\n  key_column: arch_str\n  latency_column: pixel3_latency_ms\n" + extra;
  }
  TempDir dir_;
};

TEST_F(DeviceYamlTest, MissingCsvNamesTheFile) {
  const std::string path =
      dir_.Write("fixture_device.yaml", DeviceYaml("phone", "fixture_missing_table.csv"));
  // The missing table and the device YAML line that names it.
  EXPECT_TRUE(ThrowsWith<Error>(
      [&] { LoadDeviceModel(path); },
      {path + ":5", dir_.File("fixture_missing_table.csv") + ": cannot open file"}));
}

TEST_F(DeviceYamlTest, ConfigErrorsNameLineAndKey) {
  const std::string csv = SourcePath("data/hw-nas-bench/nb201_cifar10_hw.csv");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadDeviceModel(dir_.Write("fixture_name.yaml", DeviceYaml("Edge GPU", csv))); },
      {"fixture_name.yaml:1: name: device names use a-z, 0-9, '_' and '-', got 'Edge GPU'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        LoadDeviceModel(dir_.Write("fixture_key.yaml", DeviceYaml("p", csv, "  latency: 3\n")));
      },
      {"fixture_key.yaml:8: table: unknown key 'latency'; valid keys: file, key_column, "
       "latency_column, energy_column, missing_values"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        LoadDeviceModel(dir_.Write("fixture_sentinel.yaml",
                                   DeviceYaml("p", csv, "  missing_values: [-1, none]\n")));
      },
      {"fixture_sentinel.yaml:8: table.missing_values[1]: expected a number, got 'none'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { LoadDeviceModel(dir_.Write("fixture_kind.yaml", "name: p\nkind: tpu9000\n")); },
      {"fixture_kind.yaml:2: kind: unknown value 'tpu9000'; valid: " + JoinNames(DeviceKinds())}));
  EXPECT_TRUE(ThrowsWith<IoError>(
      [&] {
        LoadDeviceModel(dir_.Write("fixture_column.yaml",
                                   DeviceYaml("p", csv, "  energy_column: pixel3_energy\n")));
      },
      {"no column 'pixel3_energy'"}));
}

}  // namespace
}  // namespace hwnas
