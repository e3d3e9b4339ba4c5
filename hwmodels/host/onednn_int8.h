// The host's int8 kernels, from oneDNN: convolution and matmul on u8/s8 activations x s8
// weights (7-bit, per output channel: see Int8WeightLayer), with the batch norm folded into a
// bias and the ReLU as a post-op. Primitives and weights are prepared once in the constructors;
// Execute only runs them.
#pragma once

#include <dnnl.hpp>
#include <string>
#include <vector>

#include "hwmodels/host/onednn_layer.h"

namespace hwnas {

// Real value = q * scale. Unsigned (u8) when the tensor is known non-negative (after a ReLU).
struct QuantizedFormat {
  bool is_unsigned = false;
  float scale = 1.0f;
  dnnl::memory::data_type type() const {
    return is_unsigned ? dnnl::memory::data_type::u8 : dnnl::memory::data_type::s8;
  }
};

// A conv (any kernel, stride, groups) or a linear layer at int8: input and output int8.
class Int8WeightLayer : public OneDnnWeightLayer {
 public:
  Int8WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded, PostActivation act,
                  QuantizedFormat in, QuantizedFormat out);
};

}  // namespace hwnas
