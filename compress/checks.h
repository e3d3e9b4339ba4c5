// Argument checks shared by the compress functions (internal to compress/). Each throws a
// one-line ConfigError naming the technique, the parameter, its value and the valid range, e.g.
//   "magnitude pruning: sparsity = 1.2 is outside the valid range [0, 1)".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hwnas::compress_checks {

[[noreturn]] void ThrowOutOfRange(std::string_view what, std::string_view name, double value,
                                  std::string_view valid);
// lo <= value <= hi.
void CheckInRange(std::string_view what, std::string_view name, int64_t value, int64_t lo,
                  int64_t hi);
// 0 <= value < 1: sparsities, momenta.
void CheckShare(std::string_view what, std::string_view name, double value);
// 0 < value <= 1: rank ratios, energy thresholds.
void CheckPositiveShare(std::string_view what, std::string_view name, double value);
// lo <= value.
void CheckAtLeast(std::string_view what, std::string_view name, int64_t value, int64_t lo);
// At least one element.
void CheckNotEmpty(std::string_view what, std::string_view name, int64_t rows, int64_t cols);
// rows x cols == expected_rows x expected_cols; `expected` says where the expectation comes
// from.
void CheckShape(std::string_view what, std::string_view name, int64_t rows, int64_t cols,
                int64_t expected_rows, int64_t expected_cols, std::string_view expected);

// Quantization grids for a matrix: 1 (per tensor) or one per row (per channel).
void CheckGridCount(std::string_view what, size_t grids, int64_t rows);

}  // namespace hwnas::compress_checks
