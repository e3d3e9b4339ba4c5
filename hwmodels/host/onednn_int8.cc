#include "hwmodels/host/onednn_int8.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace hwnas {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dt Int8Type(QuantizedFormat format) { return format.is_unsigned ? dt::u8 : dt::s8; }

// Activations: NCHW floats on the nn side; NHWC int8, the layout oneDNN's int8 kernels run in.
tag FloatTag(const dnnl::memory::dims& dims) { return dims.size() == 4 ? tag::nchw : tag::ab; }
tag Int8Tag(const dnnl::memory::dims& dims) { return dims.size() == 4 ? tag::nhwc : tag::ab; }

dnnl::primitive_attr ScaleAttr(const std::vector<float>& scales, int mask) {
  dnnl::primitive_attr attr;
  attr.set_output_scales(mask, scales);
  return attr;
}

}  // namespace

Int8Reorder::Int8Reorder(Direction direction, const dnnl::memory::dims& dims,
                         QuantizedFormat format)
    : direction_(direction) {
  const dnnl::memory::desc float_desc(dims, dt::f32, FloatTag(dims));
  const dnnl::memory::desc int8_desc(dims, Int8Type(format), Int8Tag(dims));
  // The float buffer is the caller's tensor, bound at each Execute.
  float_ = dnnl::memory(float_desc, CpuEngine(), nullptr);
  int8_ = dnnl::memory(int8_desc, CpuEngine());
  const bool quantize = direction == Direction::kQuantize;
  const auto attr = ScaleAttr({quantize ? 1.0f / format.scale : format.scale}, 0);
  reorder_ = quantize ? dnnl::reorder(float_, int8_, attr) : dnnl::reorder(int8_, float_, attr);
}

void Int8Reorder::Execute(float* float_data) {
  float_.set_data_handle(float_data);
  if (direction_ == Direction::kQuantize) {
    reorder_.execute(CpuStream(), float_, int8_);
  } else {
    reorder_.execute(CpuStream(), int8_, float_);
  }
  CpuStream().wait();
}

Int8WeightLayer::Int8WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded,
                                 PostActivation act, QuantizedFormat in, QuantizedFormat out) {
  const bool conv = layer.op == LayerOp::kConv;
  HWNAS_CHECK(conv || layer.op == LayerOp::kLinear);
  const int cout = layer.cout;
  const int64_t per_channel =
      conv ? int64_t{layer.cin} / layer.groups * layer.kernel * layer.kernel : layer.cin;

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

  const WeightLayerDims dims = DimsOf(layer, batch);
  const dnnl::memory::desc src_desc(dims.src, Int8Type(in), Int8Tag(dims.src));
  const dnnl::memory::desc dst_desc(dims.dst, Int8Type(out), Int8Tag(dims.dst));
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
  primitive_ = made.primitive;
  implementation_ = made.implementation;
  const dnnl::memory::desc weights_desc = made.weights;

  // Weights into the layout the kernel chose, once.
  dnnl::memory user_weights({dims.weights, dt::s8, dims.user_weights}, CpuEngine(),
                            quantized.data());
  weights_ = dnnl::memory(weights_desc, CpuEngine());
  dnnl::reorder(user_weights, weights_).execute(CpuStream(), user_weights, weights_);
  bias_ = dnnl::memory(bias_desc, CpuEngine());
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
  input_ = dnnl::memory(src_desc, CpuEngine());
  output_ = dnnl::memory(dst_desc, CpuEngine());
  CpuStream().wait();
}

void Int8WeightLayer::Execute() {
  primitive_.execute(CpuStream(), {{DNNL_ARG_SRC, input_},
                                   {DNNL_ARG_WEIGHTS, weights_},
                                   {DNNL_ARG_BIAS, bias_},
                                   {DNNL_ARG_DST, output_}});
  CpuStream().wait();
}

}  // namespace hwnas
