// Random MobileNetV2-like networks in the nets-file format (hwmodels/net_file.h), each conv and
// linear layer with a dtype drawn at random: the networks `host-cpu` is calibrated and
// validated on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hwnas {

struct RandomNetsOptions {
  int count = 50;
  uint64_t seed = 0;
  std::vector<std::string> dtypes = {"fp32", "int8"};  // drawn uniformly per layer
  std::string id_prefix = "r";                         // net ids r0, r1, ...
};

// One JSON object a line. Inputs 1x28x28 or 3x64x64; a stem conv, 3 or 4 stages of inverted
// residual blocks (1x1 expansion by 1, 3 or 6, a k x k depthwise conv with k in {3, 5, 7}, a
// 1x1 projection; residual where the shape allows), a 1x1 head conv, global pooling and a
// linear classifier over 10 classes. Network i comes from Rng(seed).Fork(i).
std::string RandomNetsJsonl(const RandomNetsOptions& options);

}  // namespace hwnas
