// The host's bf16 kernels, from oneDNN: convolution and matmul on bf16 activations x bf16
// weights with fp32 accumulation, the batch norm folded (its scale into the weights before
// rounding, its shift into an fp32 bias) and the activation as a post-op. Input and output are
// bf16 NHWC, so consecutive bf16 layers hand over without conversion, as a deployment runs them.
// Only CPUs with native bf16 instructions (AVX512-BF16) get a kernel; elsewhere oneDNN offers a
// reference loop at best, and the constructor refuses the layer rather than time an emulation
// under the name bf16.
#pragma once

#include <dnnl.hpp>
#include <string>

#include "hwmodels/host/onednn_layer.h"

namespace hwnas {

class Bf16WeightLayer : public OneDnnWeightLayer {
 public:
  Bf16WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded, PostActivation act);
};

}  // namespace hwnas
