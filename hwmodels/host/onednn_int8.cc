#include "hwmodels/host/onednn_int8.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace hwnas {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::primitive_attr ScaleAttr(const std::vector<float>& scales, int mask) {
  dnnl::primitive_attr attr;
  attr.set_output_scales(mask, scales);
  return attr;
}

}  // namespace

Int8WeightLayer::Int8WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded,
                                 PostActivation act, QuantizedFormat in, QuantizedFormat out) {
  const bool conv = layer.op == LayerOp::kConv;
  HWNAS_CHECK(conv || layer.op == LayerOp::kLinear);
  const int cout = layer.cout;
  const WeightLayerDims dims = DimsOf(layer, batch);
  const int64_t per_channel = dims.per_channel;

  // Symmetric per-output-channel weights: w * bn_scale = q * weight_scale[c], q in [-63, 63].
  // Without VNNI, AVX2 multiplies u8 x s8 pairs into saturating 16-bit sums (vpmaddubsw):
  // 2 * 255 * 127 overflows, 2 * 255 * 63 does not. Full 8-bit weights put errors of up to 12%
  // of the output range into matmul outputs here; oneDNN halves its s8 x s8 weights likewise.
  constexpr float kWeightLevels = 63.0f;
  std::vector<int8_t> quantized(static_cast<size_t>(cout * per_channel));
  std::vector<float> output_scales(cout), bias(cout);
  for (int c = 0; c < cout; ++c) {
    const float* row = folded.weights + c * per_channel;
    const float bn = folded.bn_scale[c];
    float max_abs = 0.0f;
    for (int64_t i = 0; i < per_channel; ++i) max_abs = std::max(max_abs, std::abs(row[i] * bn));
    const float weight_scale = max_abs > 0.0f ? max_abs / kWeightLevels : 1.0f;
    for (int64_t i = 0; i < per_channel; ++i) {
      quantized[c * per_channel + i] = static_cast<int8_t>(std::lround(row[i] * bn / weight_scale));
    }
    // oneDNN 2.x: dst = output_scale * (accumulator + bias), so the bias is in accumulator units.
    const float accumulator_scale = in.scale * weight_scale;
    output_scales[c] = accumulator_scale / out.scale;
    bias[c] = folded.bias[c] / accumulator_scale;
  }

  auto attr = ScaleAttr(output_scales, 1 << 1);  // per channel of dst dimension 1
  attr.set_post_ops(ActivationPostOps(act, 6.0f / out.scale));

  const dnnl::memory::desc src_desc(dims.src, in.type(), LowPrecisionTag(dims.src));
  const dnnl::memory::desc dst_desc(dims.dst, out.type(), LowPrecisionTag(dims.dst));
  const dnnl::memory::desc any_weights(dims.weights, dt::s8, tag::any);
  const dnnl::memory::desc bias_desc(dims.bias, dt::f32, conv ? tag::a : tag::ab);

  WeightPrimitive made;
  try {
    made = MakeWeightPrimitive(layer, src_desc, any_weights, bias_desc, dst_desc, attr);
  } catch (const dnnl::error& e) {
    throw UnsupportedError(std::string(LayerOpName(layer.op)) + " " + std::to_string(layer.cin) +
                           "->" + std::to_string(cout) + ": " + OneDnnVersion() +
                           " has no int8 kernel for it on this CPU (" + e.what() + ")");
  }

  dnnl::memory user_weights({dims.weights, dt::s8, dims.user_weights}, CpuEngine(),
                            quantized.data());
  Adopt(made, user_weights, bias_desc, bias);
}

Int8Add::Int8Add(const dnnl::memory& a, QuantizedFormat a_format, const dnnl::memory& b,
                 QuantizedFormat b_format, QuantizedFormat out)
    : a_(a), b_(b) {
  const dnnl::memory::dims dims = a.get_desc().dims();
  HWNAS_CHECK(b.get_desc().dims() == dims);
  // oneDNN 2.x scales the integer inputs, then rounds and saturates the sum into dst: each
  // input's scale over the output's puts the sum in the output's units.
  dnnl::primitive_attr attr;
  attr.set_scales(DNNL_ARG_SRC_0, 0, {a_format.scale / out.scale});
  attr.set_scales(DNNL_ARG_SRC_1, 0, {b_format.scale / out.scale});
  const dnnl::memory::desc dst_desc(dims, out.type(), LowPrecisionTag(dims));
  const dnnl::binary::primitive_desc pd(
      dnnl::binary::desc(dnnl::algorithm::binary_add, a.get_desc(), b.get_desc(), dst_desc), attr,
      CpuEngine());
  primitive_ = dnnl::binary(pd);
  implementation_ = pd.impl_info_str();
  output_ = dnnl::memory(dst_desc, CpuEngine());
}

void Int8Add::Execute() {
  primitive_.execute(CpuStream(),
                     {{DNNL_ARG_SRC_0, a_}, {DNNL_ARG_SRC_1, b_}, {DNNL_ARG_DST, output_}});
  CpuStream().wait();
}

}  // namespace hwnas
