// A comma-separated table with a header row, read whole. Fields may be double-quoted; a row
// with the wrong field count is an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hwnas {

class ConfigNode;

class CsvTable {
 public:
  // Throws IoError for a missing file, an empty one, or a row whose field count differs from
  // the header's (a truncated file), naming the file and line.
  static CsvTable Load(const std::string& path);
  // Load() of the file a config key names; errors also name the config's file, line and key.
  static CsvTable Load(const ConfigNode& config, std::string_view key);

  const std::string& path() const { return path_; }
  size_t rows() const { return cells_.size(); }
  const std::vector<std::string>& header() const { return header_; }

  // Index of a column; a missing one is an error listing the columns there are.
  size_t Column(std::string_view name) const;
  const std::string& Cell(size_t row, size_t column) const { return cells_[row][column]; }
  // The cell as a number; nullopt when empty. Anything else that is not a number is an error.
  std::optional<double> Number(size_t row, size_t column) const;
  // "path:line" of a row, for error messages.
  std::string Where(size_t row) const;

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> cells_;
  std::vector<size_t> line_numbers_;  // file line of each row, for error messages
};

}  // namespace hwnas
