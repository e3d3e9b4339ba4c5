// A trainable network built from a NetworkSpec: the bridge from the search space to training.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compress/compression_report.h"
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

// Gives a layer its starting values in place of the seeded initialisation (a supernet's
// weights): called for every conv, linear and batch norm layer of the spec with the parameters
// of the layer as if dense and full-rank, in the module's order (conv: weight; linear: weight,
// bias; batch norm: weight, bias, running_mean, running_var), before the layer's policy acts on
// those values: a low rank factorises them by SVD, pruning keeps the largest of them.
using LayerInitializer =
    std::function<void(const Layer& layer, const std::vector<NamedParameter>& parameters)>;

// What a conv or linear layer's policy did to its starting weights (pruning and quantization
// summed over both factors of a low rank), by the spec layer's name or, unnamed, its index.
struct LayerCompression {
  std::string layer;
  CompressionReport report;
};

std::unique_ptr<Sequential> BuildNetwork(const NetworkSpec& spec, uint64_t seed,
                                         const LayerInitializer& initialize,
                                         std::vector<LayerCompression>* compression = nullptr);

// The network small-image users train first, `width` times as wide: conv3x3 1->16, 16->32
// stride 2, 32->64 stride 2, each with batch norm and ReLU, then global average pooling and
// linear 64->10, on 1 x 28 x 28 inputs. The training benchmark's reference.
NetworkSpec SmallImageReferenceSpec(int width = 1);

// Loads a weight file (nn/weight_file.h) into a network built from the same spec, whatever its
// seed: pruning masks follow the loaded weights (their zeros), not the new network's own init.
void LoadNetworkWeights(const std::string& path, Sequential& network);

// Trainable weights, not running statistics.
int64_t TrainableParameterCount(Sequential& network);

}  // namespace hwnas
