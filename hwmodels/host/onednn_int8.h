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

// A residual add of two int8 tensors of the same shape into a third (oneDNN binary add with a
// scale per input), as int8 runtimes keep a block's output at int8 through its skip connection.
class Int8Add {
 public:
  // The inputs' bytes are bound here and read at every Execute.
  Int8Add(const dnnl::memory& a, QuantizedFormat a_format, const dnnl::memory& b,
          QuantizedFormat b_format, QuantizedFormat out);
  const dnnl::memory& output() const { return output_; }
  const std::string& implementation() const { return implementation_; }
  void Execute();

 private:
  dnnl::primitive primitive_;
  dnnl::memory a_, b_, output_;
  std::string implementation_;
};

}  // namespace hwnas
