// Per-channel standardisation: x -> (x - mean) / stddev, with the statistics of the training
// split applied unchanged to validation and test, so that no information leaks from them.
#pragma once

#include <vector>

#include "evaluator/dataset.h"

namespace hwnas {

struct ChannelStats {
  std::vector<double> mean;    // one per channel
  std::vector<double> stddev;  // population standard deviation; 1 for a constant channel
};

// Statistics over every pixel of every image, channel by channel.
ChannelStats ComputeChannelStats(const Dataset& data);

void Normalize(const ChannelStats& stats, Dataset& data);

}  // namespace hwnas
