#include "compress/checks.h"

#include <iomanip>
#include <sstream>
#include <string>

#include "core/errors.h"

namespace hwnas::compress_checks {

[[noreturn]] void ThrowOutOfRange(std::string_view what, std::string_view name, double value,
                                  std::string_view valid) {
  std::ostringstream message;
  message << std::setprecision(10) << what << ": " << name << " = " << value
          << " is outside the valid range " << valid;
  throw ConfigError(message.str());
}

void CheckInRange(std::string_view what, std::string_view name, int64_t value, int64_t lo,
                  int64_t hi) {
  if (value < lo || value > hi) {
    ThrowOutOfRange(what, name, static_cast<double>(value),
                    "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

void CheckAtLeast(std::string_view what, std::string_view name, int64_t value, int64_t lo) {
  if (value < lo) {
    ThrowOutOfRange(what, name, static_cast<double>(value), "[" + std::to_string(lo) + ", inf)");
  }
}

void CheckShare(std::string_view what, std::string_view name, double value) {
  if (!(value >= 0 && value < 1)) ThrowOutOfRange(what, name, value, "[0, 1)");
}

void CheckPositiveShare(std::string_view what, std::string_view name, double value) {
  if (!(value > 0 && value <= 1)) ThrowOutOfRange(what, name, value, "(0, 1]");
}

void CheckNotEmpty(std::string_view what, std::string_view name, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) {
    std::ostringstream message;
    message << what << ": empty " << name << " (" << rows << " x " << cols
            << "); need at least one element";
    throw ConfigError(message.str());
  }
}

void CheckShape(std::string_view what, std::string_view name, int64_t rows, int64_t cols,
                int64_t expected_rows, int64_t expected_cols, std::string_view expected) {
  if (rows != expected_rows || cols != expected_cols) {
    std::ostringstream message;
    message << what << ": shape of " << name << " is " << rows << " x " << cols << "; expected "
            << expected_rows << " x " << expected_cols << " (" << expected << ")";
    throw ConfigError(message.str());
  }
}

void CheckGridCount(std::string_view what, size_t grids, int64_t rows) {
  if (grids != 1 && static_cast<int64_t>(grids) != rows) {
    std::ostringstream message;
    message << what << ": " << grids << " grids for " << rows
            << " rows; give 1 (per tensor) or one per row (per channel)";
    throw ConfigError(message.str());
  }
}

}  // namespace hwnas::compress_checks
