#include "cli/table_output.h"

#include <algorithm>
#include <cstdio>

#include "core/errors.h"

namespace hwnas {

namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string FormatNumber(double value, int precision) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*g", precision, value);
  return text;
}

std::string FormatOptional(const std::optional<double>& value, int precision) {
  return value ? FormatNumber(*value, precision) : "";
}

void TableOutput::AddRow(std::vector<std::string> cells) {
  HWNAS_CHECK(cells.size() == columns_.size());
  rows_.push_back(std::move(cells));
}

void TableOutput::Print(std::ostream& out, const std::string& format) const {
  if (format == "csv") {
    for (size_t c = 0; c < columns_.size(); ++c) out << (c ? "," : "") << columns_[c].name;
    out << "\n";
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << CsvField(row[c]);
      out << "\n";
    }
  } else if (format == "json") {
    out << "[";
    for (size_t r = 0; r < rows_.size(); ++r) {
      out << (r ? ",\n " : "\n ") << "{";
      for (size_t c = 0; c < columns_.size(); ++c) {
        const std::string& cell = rows_[r][c];
        out << (c ? ", " : "") << JsonString(columns_[c].name) << ": ";
        out << (cell.empty() ? "null" : columns_[c].numeric ? cell : JsonString(cell));
      }
      out << "}";
    }
    out << (rows_.empty() ? "]\n" : "\n]\n");
  } else {
    HWNAS_CHECK(format == "table");
    std::vector<size_t> width(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) {
      width[c] = columns_[c].name.size();
      for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
    }
    auto print_row = [&](const std::vector<std::string>& cells) {
      std::string line;
      for (size_t c = 0; c < cells.size(); ++c) {
        const std::string pad(width[c] - cells[c].size(), ' ');
        if (c) line += "  ";
        line += columns_[c].numeric ? pad + cells[c] : cells[c] + pad;
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    };
    std::vector<std::string> header;
    for (const auto& column : columns_) header.push_back(column.name);
    print_row(header);
    std::vector<std::string> rule;
    for (size_t w : width) rule.push_back(std::string(w, '-'));
    print_row(rule);
    for (const auto& row : rows_) print_row(row);
  }
}

}  // namespace hwnas
