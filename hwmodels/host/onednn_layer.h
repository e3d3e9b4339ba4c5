// What the host's oneDNN layers share: the CPU engine and stream, a conv or linear layer's shapes
// and primitive, and the float weights (batch norm folded) they are made from.
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

}  // namespace hwnas
