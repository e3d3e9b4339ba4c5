#include "core/csv_table.h"

#include <charconv>
#include <fstream>

#include "core/config_node.h"
#include "core/errors.h"

namespace hwnas {

namespace {

// Fields may be quoted ("a, b" with "" for a quote), as tools that write CSV do for text
// holding commas, such as an error message in a status column.
std::vector<std::string> SplitFields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace

CsvTable CsvTable::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open file");
  CsvTable table;
  table.path_ = path;
  std::string line;
  if (std::getline(in, line) && !line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw IoError(path + ":1: empty file, expected a header row");
  table.header_ = SplitFields(line);
  size_t line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto fields = SplitFields(line);
    if (fields.size() != table.header_.size()) {
      throw IoError(path + ":" + std::to_string(line_number) + ": expected " +
                    std::to_string(table.header_.size()) + " fields, found " +
                    std::to_string(fields.size()) + " (truncated or malformed file?)");
    }
    table.cells_.push_back(std::move(fields));
    table.line_numbers_.push_back(line_number);
  }
  return table;
}

CsvTable CsvTable::Load(const ConfigNode& config, std::string_view key) {
  const std::string path = config.Path(key);
  try {
    return Load(path);
  } catch (const IoError& e) {
    config.Child(key).Fail(e.what());
  }
}

size_t CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return i;
  }
  throw IoError(path_ + ": no column '" + std::string(name) + "'; columns: " + JoinNames(header_));
}

std::optional<double> CsvTable::Number(size_t row, size_t column) const {
  const std::string& text = cells_[row][column];
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw IoError(Where(row) + ": column '" + header_[column] + "': not a number: '" + text + "'");
  }
  return value;
}

std::string CsvTable::Where(size_t row) const {
  return path_ + ":" + std::to_string(line_numbers_[row]);
}

}  // namespace hwnas
