#include "evaluator/normalization.h"

#include <cmath>

#include "core/errors.h"

namespace hwnas {
namespace {

// The columns of channel `c`: the channel's plane in every image.
template <typename Matrix>
auto ChannelBlock(Matrix& images, const ImageShape& shape, int c) {
  const int64_t plane = int64_t{shape.height} * shape.width;
  return images.middleCols(c * plane, plane);
}

}  // namespace

ChannelStats ComputeChannelStats(const Dataset& data) {
  HWNAS_CHECK(data.size() > 0);
  ChannelStats stats;
  for (int c = 0; c < data.shape.channels; ++c) {
    const auto block = ChannelBlock(data.images, data.shape, c).cast<double>();
    const double count = static_cast<double>(block.size());
    const double mean = block.sum() / count;
    const double variance = (block.array() - mean).square().sum() / count;
    stats.mean.push_back(mean);
    // A constant channel maps to 0 rather than to NaN.
    stats.stddev.push_back(variance > 0 ? std::sqrt(variance) : 1.0);
  }
  return stats;
}

void Normalize(const ChannelStats& stats, Dataset& data) {
  HWNAS_CHECK(static_cast<int>(stats.mean.size()) == data.shape.channels);
  for (int c = 0; c < data.shape.channels; ++c) {
    auto block = ChannelBlock(data.images, data.shape, c);
    block =
        (block.array() - static_cast<float>(stats.mean[c])) / static_cast<float>(stats.stddev[c]);
  }
}

}  // namespace hwnas
