// What the host's oneDNN layers share: the CPU engine and stream, the conversions of activations
// into and out of them, a conv or linear layer's shapes and primitive, and the float weights
// (batch norm folded) they are made from.
#pragma once

#include <dnnl.hpp>
#include <string>
#include <vector>

#include "core/network_spec.h"

namespace hwnas {

// The one CPU engine and in-order stream of the process.
dnnl::engine& CpuEngine();
dnnl::stream& CpuStream();

// "oneDNN 2.6.3".
std::string OneDnnVersion();

// The layout of activations in oneDNN's int8 and bf16 kernels: NHWC, or [N, C] for a linear
// layer's input and output. The nn engine's floats are NCHW.
dnnl::memory::format_tag LowPrecisionTag(const dnnl::memory::dims& dims);

// A conversion of a whole activation between the nn engine's float NCHW and a kernel's
// low-precision NHWC: int8 (real value = q * scale) or bf16 (scale 1).
class ActivationReorder {
 public:
  enum class Direction { kToLow, kToFloat };
  ActivationReorder(Direction direction, const dnnl::memory::dims& dims,
                    dnnl::memory::data_type low, float scale);

  // The low-precision side, owned here when converting to it; bound to a producer's memory
  // when converting back.
  dnnl::memory& low_memory() { return low_; }
  void set_low_memory(const dnnl::memory& memory) { low_ = memory; }
  void Execute(float* float_data);

 private:
  Direction direction_;
  dnnl::memory float_, low_;
  dnnl::reorder reorder_;
};

// The float weights and what follows them, in the nn engine's layouts.
struct FoldedWeights {
  const float* weights = nullptr;  // cout x (cin / groups * k * k), row-major
  std::vector<float> bias;         // per output channel: the batch norm folded in, or zeros
  std::vector<float> bn_scale;     // per output channel multiplier of the weights (1 without bn)
};

enum class PostActivation { kNone, kRelu, kRelu6 };

// A conv or linear layer's oneDNN shapes: activations N x C x H x W (N x C for a linear),
// weights in the nn engine's order (oihw; goihw with groups; a linear's cout x cin as ba).
struct WeightLayerDims {
  dnnl::memory::dims src, weights, bias, dst;
  dnnl::memory::format_tag user_weights;
  int64_t per_channel = 0;  // weights per output channel: a row of the user weights
};
WeightLayerDims DimsOf(const Layer& layer, int batch);

// The activation as oneDNN post-ops; a ReLU6 clips at `relu6_top` in the output's units.
dnnl::post_ops ActivationPostOps(PostActivation act, float relu6_top);

// The convolution (direct, forward inference) or matmul for `layer` on these descriptors; the
// weights' layout is the kernel's choice when `weights` says format any. Throws dnnl::error when
// oneDNN has no implementation.
struct WeightPrimitive {
  dnnl::primitive primitive;
  dnnl::memory::desc src, weights, dst;
  std::string implementation;  // e.g. "jit_uni_int8:avx2"
};
WeightPrimitive MakeWeightPrimitive(const Layer& layer, const dnnl::memory::desc& src,
                                    const dnnl::memory::desc& weights,
                                    const dnnl::memory::desc& bias, const dnnl::memory::desc& dst,
                                    const dnnl::primitive_attr& attr);

// A conv or linear layer prepared in oneDNN: its primitive, weights in the kernel's layout, bias,
// and low-precision input and output. Subclasses fill them in their constructors.
class OneDnnWeightLayer {
 public:
  const dnnl::memory& input() const { return input_; }
  // The producer's bytes seen with this layer's input descriptor.
  void set_input(const dnnl::memory& memory) { input_ = memory; }
  const dnnl::memory& output() const { return output_; }
  // The implementation oneDNN chose, e.g. "brgconv_1x1:avx512_core_vnni".
  const std::string& implementation() const { return implementation_; }
  void Execute();

 protected:
  OneDnnWeightLayer() = default;
  // Keeps the primitive, fills the weights (reordered into the kernel's layout from `user`)
  // and the bias, and makes the input and output memories.
  void Adopt(const WeightPrimitive& made, dnnl::memory user_weights,
             const dnnl::memory::desc& bias_desc, const std::vector<float>& bias);

 private:
  dnnl::primitive primitive_;
  dnnl::memory input_, weights_, bias_, output_;
  std::string implementation_;
};

}  // namespace hwnas
