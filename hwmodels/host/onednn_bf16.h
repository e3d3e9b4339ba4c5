// The host's bf16 kernels, from oneDNN: convolution and matmul on bf16 activations x bf16
// weights with fp32 accumulation, the batch norm folded into an fp32 bias and the activation as
// a post-op. A bf16 layer takes and gives fp32 NCHW tensors, converting its input on the way
// in, as mixed-precision frameworks do per op (PyTorch's autocast). Only CPUs with native bf16
// instructions (AVX512-BF16) get a kernel; elsewhere oneDNN offers a reference loop only, and
// the constructor refuses the layer rather than time an emulation under the name bf16.
#pragma once

#include <dnnl.hpp>
#include <string>

#include "core/network_spec.h"
#include "hwmodels/host/onednn_int8.h"

namespace hwnas {

class Bf16WeightLayer {
 public:
  Bf16WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded, PostActivation act);

  // The implementation oneDNN chose, e.g. "brgconv_1x1:avx512_core_bf16".
  std::string implementation() const { return implementation_; }
  const dnnl::memory::dims& output_dims() const { return output_dims_; }
  // input: batch x cin (x h x w) fp32, NCHW; output: the same for the layer's output.
  void Execute(const float* input, float* output);

 private:
  dnnl::primitive primitive_;
  dnnl::reorder to_bf16_, from_output_;
  dnnl::memory user_input_, input_, weights_, bias_, output_, user_output_;
  dnnl::memory::dims output_dims_;
  bool output_is_user_ = false;  // the kernel writes the caller's layout itself
  std::string implementation_;
};

}  // namespace hwnas
