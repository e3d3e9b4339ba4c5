#include "compress/quantize.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "compress/checks.h"
#include "core/errors.h"

namespace hwnas {

namespace {

constexpr const char* kWhat = "quantization";

// Candidate shrink factors of the MSE clipping search: 1.00, 0.99, ..., 0.01.
constexpr int kClipSteps = 100;

// 1.5 * 2^23. Adding and subtracting it rounds a float below 2^22 in magnitude to an integer,
// ties to even, with plain vector adds (SSE2 has no rounding instruction). Levels are at most
// 2^16, so clamping before rounding keeps every value in that range.
constexpr float kRoundingMagic = 12582912.0f;

// Calls use(x, x_hat) with x_hat an Eigen expression over the n contiguous values at x, so that
// the caller's consumer (a copy, a squared-error sum) fuses with it into one vectorised pass.
template <typename Use>
auto WithQuantized(const float* data, Eigen::Index n, const QuantGrid& grid, Use use) {
  const Eigen::Map<const Eigen::ArrayXf> x(data, n);
  // A zero-width grid maps everything to level 0, its only value.
  const float inv_scale = grid.scale > 0 ? 1 / grid.scale : 0;
  const auto levels = ((x - grid.offset) * inv_scale)
                          .cwiseMax(static_cast<float>(grid.q_min))
                          .cwiseMin(static_cast<float>(grid.q_max));
  return use(x, ((levels + kRoundingMagic) - kRoundingMagic) * grid.scale + grid.offset);
}

void FakeQuantizeSpan(const float* x, Eigen::Index n, const QuantGrid& grid, float* x_hat) {
  WithQuantized(x, n, grid, [&](const auto&, const auto& quantized) {
    Eigen::Map<Eigen::ArrayXf>(x_hat, n) = quantized;
  });
}

double SquaredError(ConstWeightRef values, const QuantGrid& grid) {
  double sum = 0;
  for (Eigen::Index r = 0; r < values.rows(); ++r) {
    sum += WithQuantized(values.row(r).data(), values.cols(), grid,
                         [](const auto& x, const auto& quantized) {
                           return static_cast<double>((x - quantized).square().sum());
                         });
  }
  return sum;
}

struct ValueRange {
  float min, max;
};

// NaN propagates to the ends so that MakeQuantGrid rejects it; plain vectorised min and max
// may skip it.
ValueRange RangeOf(ConstWeightRef values) {
  return {values.minCoeff<Eigen::PropagateNaN>(), values.maxCoeff<Eigen::PropagateNaN>()};
}

QuantGrid MinMaxGrid(ConstWeightRef values, int bits, QuantScheme scheme) {
  const ValueRange range = RangeOf(values);
  return MakeQuantGrid(range.min, range.max, bits, scheme);
}

// [min, max] shrunk by `factor` towards zero, or towards its end nearest zero.
QuantGrid ShrunkGrid(ValueRange range, double factor, int bits, QuantScheme scheme) {
  const double anchor = std::clamp(0.0f, range.min, range.max);
  return MakeQuantGrid(static_cast<float>(anchor + (range.min - anchor) * factor),
                       static_cast<float>(anchor + (range.max - anchor) * factor), bits, scheme);
}

}  // namespace

QuantGrid MakeQuantGrid(float min, float max, int bits, QuantScheme scheme) {
  compress_checks::CheckInRange(kWhat, "bits", bits, kMinQuantBits, kMaxQuantBits);
  if (!std::isfinite(min) || !std::isfinite(max)) {
    std::ostringstream message;
    message << kWhat << ": range [" << min << ", " << max
            << "] is not finite (a NaN or infinite value among the quantized ones)";
    throw ConfigError(message.str());
  }
  if (min > max) {
    std::ostringstream message;
    message << kWhat << ": range min = " << min << " is above max = " << max;
    throw ConfigError(message.str());
  }
  QuantGrid grid;
  if (scheme == QuantScheme::kAffine) {
    grid.min = min;
    grid.max = max;
    grid.q_max = (1 << bits) - 1;
    grid.scale = static_cast<float>((static_cast<double>(max) - min) / grid.q_max);
    grid.offset = min;
  } else {
    const float a = std::max(std::abs(min), std::abs(max));
    grid.min = -a;
    grid.max = a;
    grid.q_max = (1 << (bits - 1)) - 1;
    grid.q_min = -grid.q_max;
    grid.scale = a / grid.q_max;
  }
  // A step below FLT_MIN has no finite inverse (0 x inf is NaN); such a range is zero width.
  if (grid.scale < std::numeric_limits<float>::min()) grid.scale = 0;
  return grid;
}

QuantGrid MseClippedGrid(ConstWeightRef values, int bits, QuantScheme scheme) {
  compress_checks::CheckNotEmpty(kWhat, "values", values.rows(), values.cols());
  const ValueRange range = RangeOf(values);
  std::vector<QuantGrid> candidates(kClipSteps);
  std::vector<double> errors(kClipSteps);
  tbb::parallel_for(0, kClipSteps, [&](int step) {
    // Step 0 is min-max exactly, not min-max through the shrink arithmetic.
    const double factor = 1.0 - static_cast<double>(step) / kClipSteps;
    candidates[step] = step == 0 ? MakeQuantGrid(range.min, range.max, bits, scheme)
                                 : ShrunkGrid(range, factor, bits, scheme);
    errors[step] = SquaredError(values, candidates[step]);
  });
  // The first least error: ties keep the wider range.
  return candidates[std::min_element(errors.begin(), errors.end()) - errors.begin()];
}

std::vector<QuantGrid> WeightGrids(ConstWeightRef weights, const QuantConfig& config) {
  compress_checks::CheckInRange(kWhat, "bits", config.bits, kMinQuantBits, kMaxQuantBits);
  compress_checks::CheckNotEmpty(kWhat, "weights", weights.rows(), weights.cols());
  auto grid_of = [&](ConstWeightRef values) {
    return config.clip == ClipMethod::kMse ? MseClippedGrid(values, config.bits, config.scheme)
                                           : MinMaxGrid(values, config.bits, config.scheme);
  };
  if (config.granularity == QuantGranularity::kPerTensor) return {grid_of(weights)};
  std::vector<QuantGrid> grids(weights.rows());
  tbb::parallel_for(Eigen::Index{0}, weights.rows(),
                    [&](Eigen::Index r) { grids[r] = grid_of(weights.row(r)); });
  return grids;
}

void FakeQuantize(Eigen::Ref<const Eigen::ArrayXf> x, const QuantGrid& grid,
                  Eigen::Ref<Eigen::ArrayXf> x_hat) {
  compress_checks::CheckShape(kWhat, "x_hat", x_hat.size(), 1, x.size(), 1, "the size of x");
  FakeQuantizeSpan(x.data(), x.size(), grid, x_hat.data());
}

void FakeQuantizeRows(ConstWeightRef weights, std::span<const QuantGrid> grids, WeightRef x_hat) {
  compress_checks::CheckGridCount(kWhat, grids.size(), weights.rows());
  compress_checks::CheckShape(kWhat, "x_hat", x_hat.rows(), x_hat.cols(), weights.rows(),
                              weights.cols(), "the weights' shape");
  tbb::parallel_for(Eigen::Index{0}, weights.rows(), [&](Eigen::Index r) {
    FakeQuantizeSpan(weights.row(r).data(), weights.cols(), grids[grids.size() == 1 ? 0 : r],
                     x_hat.row(r).data());
  });
}

QuantizedWeights QuantizeWeights(ConstWeightRef weights, const QuantConfig& config) {
  QuantizedWeights result;
  result.grids = WeightGrids(weights, config);
  result.values.resize(weights.rows(), weights.cols());
  FakeQuantizeRows(weights, result.grids, result.values);
  result.report = CompareWeights(weights, result.values, weights.size());
  return result;
}

}  // namespace hwnas
