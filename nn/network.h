// A trainable network built from a NetworkSpec: the bridge from the search space to training.
#pragma once

#include <memory>

#include "core/network_spec.h"
#include "nn/sequential.h"

namespace hwnas {

// Layer by layer: conv (no bias; a batch norm follows), batch norm, relu, relu6, pools, linear
// (on the flattened input), and kAdd layers with residual_from as identity residual blocks.
// Conv and linear layers train under their LayerPolicy: activations quantized to a_bits before
// them, a rank_ratio below 1 as two factor layers, weights pruned and quantized to w_bits
// (nn/compression_policy.h). Weights initialise from `seed`. Throws UnsupportedError for what cannot be trained, naming
// the layer (a cell's multi-input node sum).
std::unique_ptr<Sequential> BuildNetwork(const NetworkSpec& spec, uint64_t seed);

// Trainable weights, not running statistics.
int64_t TrainableParameterCount(Sequential& network);

}  // namespace hwnas
