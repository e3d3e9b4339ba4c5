#include "hwmodels/host/onednn_bf16.h"

#include <vector>

#include "core/errors.h"

namespace hwnas {

Bf16WeightLayer::Bf16WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded,
                                 PostActivation act) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const bool conv = layer.op == LayerOp::kConv;
  HWNAS_CHECK(conv || layer.op == LayerOp::kLinear);
  const WeightLayerDims dims = DimsOf(layer, batch);

  const int64_t per_channel = dims.per_channel;
  std::vector<float> scaled(static_cast<size_t>(layer.cout * per_channel));
  for (int c = 0; c < layer.cout; ++c) {
    for (int64_t i = 0; i < per_channel; ++i) {
      scaled[c * per_channel + i] = folded.weights[c * per_channel + i] * folded.bn_scale[c];
    }
  }

  dnnl::primitive_attr attr;
  attr.set_post_ops(ActivationPostOps(act, 6.0f));
  const dnnl::memory::desc src_desc(dims.src, dt::bf16, LowPrecisionTag(dims.src));
  const dnnl::memory::desc any_weights(dims.weights, dt::bf16, tag::any);
  const dnnl::memory::desc bias_desc(dims.bias, dt::f32, conv ? tag::a : tag::ab);
  const dnnl::memory::desc dst_desc(dims.dst, dt::bf16, LowPrecisionTag(dims.dst));
  const std::string name = std::string(LayerOpName(layer.op)) + " " + std::to_string(layer.cin) +
                           "->" + std::to_string(layer.cout) + ": " + OneDnnVersion();
  WeightPrimitive made;
  try {
    made = MakeWeightPrimitive(layer, src_desc, any_weights, bias_desc, dst_desc, attr);
  } catch (const dnnl::error& e) {
    throw UnsupportedError(name + " has no bf16 kernel for it on this CPU (" + e.what() + ")");
  }
  // A reference implementation is a scalar loop that emulates bf16: not what bf16 costs.
  if (made.implementation.find("ref") != std::string::npos) {
    throw UnsupportedError(name + " has no native bf16 kernel on this CPU (it offers only '" +
                           made.implementation + "'; bf16 needs AVX512-BF16)");
  }
  dnnl::memory user_weights({dims.weights, dt::f32, dims.user_weights}, CpuEngine(),
                            scaled.data());
  Adopt(made, user_weights, bias_desc, folded.bias);
}

}  // namespace hwnas
