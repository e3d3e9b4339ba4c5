// Results as a readable table, CSV or JSON: the one place that formats output rows.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace hwnas {

struct Column {
  std::string name;
  bool numeric = false;  // unquoted in JSON, right-aligned in tables
};

class TableOutput {
 public:
  explicit TableOutput(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Empty cells are null in JSON.
  void AddRow(std::vector<std::string> cells);
  void Print(std::ostream& out, const std::string& format) const;  // table | csv | json
  size_t rows() const { return rows_.size(); }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

inline const std::vector<std::string> kOutputFormats = {"table", "csv", "json"};

std::string FormatNumber(double value, int precision = 6);
std::string FormatOptional(const std::optional<double>& value, int precision = 6);

}  // namespace hwnas
