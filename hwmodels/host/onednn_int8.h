// The host's int8 kernels, from oneDNN: convolution and matmul on u8/s8 activations x s8
// weights (7-bit, per output channel: see Int8WeightLayer), with the batch norm folded into a
// bias and the ReLU as a post-op, and the reorders that quantize into and dequantize out of
// them. Primitives and weights are prepared once in the constructors; Execute only runs them.
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
};

// A float <-> int8 conversion of a whole activation: float NCHW to int8 NHWC (or the reverse),
// or [N, C] both ways for a linear layer's input and output.
class Int8Reorder {
 public:
  enum class Direction { kQuantize, kDequantize };
  Int8Reorder(Direction direction, const dnnl::memory::dims& dims, QuantizedFormat format);

  // The int8 side, owned here when quantizing; bound to a producer's memory when dequantizing.
  dnnl::memory& int8_memory() { return int8_; }
  void set_int8_memory(const dnnl::memory& memory) { int8_ = memory; }
  void Execute(float* float_data);

 private:
  Direction direction_;
  dnnl::memory float_, int8_;
  dnnl::reorder reorder_;
};

// A conv (any kernel, stride, groups) or a linear layer at int8: input and output int8.
class Int8WeightLayer {
 public:
  Int8WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded, PostActivation act,
                  QuantizedFormat in, QuantizedFormat out);

  const dnnl::memory& input() const { return input_; }
  void set_input(const dnnl::memory& memory) { input_ = memory; }
  const dnnl::memory& output() const { return output_; }
  // The implementation oneDNN chose, e.g. "jit_uni_int8:avx2".
  std::string implementation() const { return implementation_; }
  void Execute();

 private:
  dnnl::primitive primitive_;
  dnnl::memory input_, weights_, bias_, output_;
  std::string implementation_;
};

}  // namespace hwnas
