// Uniform quantization of weights and activations, simulated in float ("fake" quantization:
// quantize then dequantize), which is what training, accuracy proxies and error figures need.
//
//   affine:    s = (x_max - x_min) / (2^b - 1),  q = round((x - x_min) / s) in [0, 2^b - 1],
//              x_hat = q * s + x_min
//   symmetric: a = max(|x_min|, |x_max|),  s = a / (2^(b-1) - 1),
//              q = round(x / s) in [-(2^(b-1) - 1), 2^(b-1) - 1],  x_hat = q * s
//
// Symmetric drops the most negative level (2^b - 1 levels) so that zero is exact and the grid
// is the same on both sides, as int8 kernels expect. round() is half to even (as torch.round
// and the vector units do). Values outside the clipping range [x_min, x_max] clamp to its ends.
//
// Per tensor, one grid covers the whole matrix; per channel, each row (output channel) of a
// Cout x (Cin*k*k) weight matrix gets its own. The clipping range is min-max, or the shrunken
// range of least MSE (see MseClippedGrid).
#pragma once

#include <span>
#include <vector>

#include "compress/compression_report.h"
#include "compress/weight_matrix.h"

namespace hwnas {

inline constexpr int kMinQuantBits = 2;
inline constexpr int kMaxQuantBits = 16;

enum class QuantScheme { kAffine, kSymmetric };
enum class QuantGranularity { kPerTensor, kPerChannel };
enum class ClipMethod { kMinMax, kMse };

struct QuantConfig {
  int bits = 8;  // kMinQuantBits .. kMaxQuantBits
  QuantScheme scheme = QuantScheme::kAffine;
  QuantGranularity granularity = QuantGranularity::kPerTensor;
  ClipMethod clip = ClipMethod::kMinMax;
};

// A clipping range and the uniform grid of integer levels over it.
struct QuantGrid {
  float min = 0, max = 0;    // clipping range
  float scale = 0;           // step between levels; 0 when min == max or nearly (all map to min)
  float offset = 0;          // value of level 0: x_min (affine) or 0 (symmetric)
  int q_min = 0, q_max = 0;  // integer levels
};

// The grid of `bits` over [min, max] (min <= max).
QuantGrid MakeQuantGrid(float min, float max, int bits, QuantScheme scheme);

// The clipping range of least MSE over all `values`, deterministic. The min-max range
// [x_min, x_max] is shrunk towards zero (or towards the end nearest zero, when the range lies
// on one side of it) by the factors 1.00, 0.99, ..., 0.01, and the first factor of least
// squared error wins. Factor 1 is min-max itself, so the result is never worse than it.
QuantGrid MseClippedGrid(ConstWeightRef values, int bits, QuantScheme scheme);

// One grid for the whole matrix (per tensor) or one per row (per channel), clipped as configured.
std::vector<QuantGrid> WeightGrids(ConstWeightRef weights, const QuantConfig& config);

// x_hat for every value of `x`, into `x_hat` (same size; may be `x` itself).
void FakeQuantize(Eigen::Ref<const Eigen::ArrayXf> x, const QuantGrid& grid,
                  Eigen::Ref<Eigen::ArrayXf> x_hat);

// x_hat for every weight, row r on grids[r] (per channel) or all on grids[0] (per tensor).
void FakeQuantizeRows(ConstWeightRef weights, std::span<const QuantGrid> grids, WeightRef x_hat);

struct QuantizedWeights {
  WeightMatrix values;  // x_hat, the dequantized weights
  std::vector<QuantGrid> grids;
  CompressionReport report;
};

QuantizedWeights QuantizeWeights(ConstWeightRef weights, const QuantConfig& config);

}  // namespace hwnas
