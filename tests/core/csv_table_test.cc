#include "core/csv_table.h"

#include <gtest/gtest.h>

#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;
using test::ThrowsWith;

class CsvTableTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CsvTableTest, ReadsHeaderCellsAndNumbers) {
  const auto table = CsvTable::Load(dir_.Write("fixture_ok.csv", "key,a,b\nx,1.5,-1\ny,,2e3\n"));
  EXPECT_EQ(table.header(), (std::vector<std::string>{"key", "a", "b"}));
  ASSERT_EQ(table.rows(), 2u);
  EXPECT_EQ(table.Column("b"), 2u);
  EXPECT_EQ(table.Cell(1, 0), "y");
  EXPECT_EQ(table.Number(0, 1), 1.5);
  EXPECT_EQ(table.Number(0, 2), -1.0);
  EXPECT_EQ(table.Number(1, 2), 2000.0);
}

TEST_F(CsvTableTest, EmptyCellIsNullopt) {
  const auto table = CsvTable::Load(dir_.Write("fixture_empty_cell.csv", "key,a,b\nx,,3\ny,4,\n"));
  EXPECT_EQ(table.Number(0, 1), std::nullopt);
  EXPECT_EQ(table.Number(1, 2), std::nullopt);
  EXPECT_EQ(table.Number(0, 2), 3.0);
}

TEST_F(CsvTableTest, TruncatedRowNamesFileAndLine) {
  const std::string path = dir_.Write("fixture_truncated.csv", "key,a,b\nx,1,2\ny,3,4\nz,5\n");
  EXPECT_TRUE(ThrowsWith<IoError>([&] { CsvTable::Load(path); },
                                  {path + ":4: expected 3 fields, found 2"}));
}

TEST_F(CsvTableTest, MissingColumnListsColumns) {
  const std::string path = dir_.Write("fixture_columns.csv", "key,latency_ms,energy_mj\nx,1,2\n");
  const auto table = CsvTable::Load(path);
  EXPECT_TRUE(
      ThrowsWith<IoError>([&] { table.Column("latency"); },
                          {path, "no column 'latency'; columns: key, latency_ms, energy_mj"}));
}

TEST_F(CsvTableTest, BadNumberNamesLineColumnAndText) {
  const std::string path = dir_.Write("fixture_bad_number.csv", "key,a\nx,1\ny,1.2.3\n");
  const auto table = CsvTable::Load(path);
  EXPECT_TRUE(ThrowsWith<IoError>([&] { table.Number(1, 1); },
                                  {path + ":3: column 'a': not a number: '1.2.3'"}));
}

TEST_F(CsvTableTest, BadNumberAfterABlankLineNamesItsRealLine) {
  // Blank lines are skipped when loading, so a data row's index no longer gives its line.
  const std::string path = dir_.Write("fixture_blank_line.csv", "key,a\nx,1\n\ny,oops\n");
  const auto table = CsvTable::Load(path);
  ASSERT_EQ(table.rows(), 2u);
  EXPECT_TRUE(ThrowsWith<IoError>([&] { table.Number(1, 1); },
                                  {path + ":4: column 'a': not a number: 'oops'"}));
}

TEST_F(CsvTableTest, CrlfLineEndingsAreAccepted) {
  // Data rows strip the '\r' of Windows line endings; the header must too, or its last column
  // cannot be found.
  const auto table = CsvTable::Load(dir_.Write("fixture_crlf.csv", "key,a,b\r\nx,1,2\r\n"));
  EXPECT_EQ(table.Number(0, 2), 2.0);
  EXPECT_EQ(table.Column("b"), 2u);
}

TEST_F(CsvTableTest, MissingAndEmptyFilesAreErrors) {
  const std::string missing = dir_.File("fixture_missing.csv");
  EXPECT_TRUE(
      ThrowsWith<IoError>([&] { CsvTable::Load(missing); }, {missing + ": cannot open file"}));
  const std::string empty = dir_.Write("fixture_empty.csv", "");
  EXPECT_TRUE(ThrowsWith<IoError>([&] { CsvTable::Load(empty); },
                                  {empty + ":1: empty file, expected a header row"}));
}

TEST(CsvTableData, ShippedHardwareTableLoads) {
  const auto table = CsvTable::Load(test::SourcePath("data/hw-nas-bench/nb201_cifar10_hw.csv"));
  EXPECT_EQ(table.rows(), 15625u);
  const size_t tpu = table.Column("edgetpu_latency_ms");
  // Row 0 of HW-NAS-Bench, copied from the file.
  EXPECT_EQ(table.Number(0, tpu), 0.9571811309997429);
  EXPECT_EQ(table.Cell(0, table.Column("arch_str")), test::kNb201Arch0);
}

}  // namespace
}  // namespace hwnas
