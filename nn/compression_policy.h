// Putting a network's layers under their LayerPolicy for training: pruning masks and weight
// quantization on conv and linear weights. (Activation bits and low rank change the layer list
// and are built by BuildNetwork.)
#pragma once

#include "compress/compression_report.h"
#include "core/layer_policy.h"
#include "nn/weight_compression.h"

namespace hwnas {

// Prunes the layer's current weights to the policy's sparsity and pattern (magnitude, N:M, or
// whole output channels by L1 norm, kept as zero rows while training) and fake-quantizes them
// to w_bits, symmetric per output channel. A dense 32-bit policy clears both. Returns what the
// compression did to the weights.
CompressionReport ApplyWeightPolicy(const CompressibleLayer& layer, const LayerPolicy& policy);

}  // namespace hwnas
