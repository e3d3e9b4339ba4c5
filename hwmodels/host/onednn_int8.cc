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

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& CpuStream() {
  static dnnl::stream stream(CpuEngine());
  return stream;
}

std::string OneDnnVersion() {
  const dnnl_version_t* v = dnnl::version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

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

  dnnl::post_ops post_ops;
  if (act == PostActivation::kRelu) {
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  } else if (act == PostActivation::kRelu6) {
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f / out.scale);
  }
  auto attr = ScaleAttr(output_scales, 1 << 1);  // per channel of dst dimension 1
  attr.set_post_ops(post_ops);

  dnnl::memory::dims src_dims, weight_dims, dst_dims, bias_dims;
  tag user_weight_tag;
  if (conv) {
    const int h_out = layer.HOut();
    src_dims = {batch, layer.cin, layer.h_in, layer.h_in};
    dst_dims = {batch, cout, h_out, h_out};
    bias_dims = {cout};
    if (layer.groups == 1) {
      weight_dims = {cout, layer.cin, layer.kernel, layer.kernel};
      user_weight_tag = tag::oihw;
    } else {
      weight_dims = {layer.groups, cout / layer.groups, layer.cin / layer.groups, layer.kernel,
                     layer.kernel};
      user_weight_tag = tag::goihw;
    }
  } else {
    src_dims = {batch, layer.cin};
    dst_dims = {batch, cout};
    bias_dims = {1, cout};
    weight_dims = {layer.cin, cout};
    user_weight_tag = tag::ba;  // nn keeps cout x cin
  }
  const dnnl::memory::desc src_desc(src_dims, Int8Type(in), Int8Tag(src_dims));
  const dnnl::memory::desc dst_desc(dst_dims, Int8Type(out), Int8Tag(dst_dims));
  const dnnl::memory::desc any_weights(weight_dims, dt::s8, tag::any);
  const dnnl::memory::desc bias_desc(bias_dims, dt::f32, conv ? tag::a : tag::ab);

  dnnl::memory::desc weights_desc;
  try {
    if (conv) {
      const int pad = layer.padding;
      const dnnl::convolution_forward::primitive_desc pd(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::convolution_direct, src_desc,
                                          any_weights, bias_desc, dst_desc,
                                          {layer.stride, layer.stride}, {pad, pad}, {pad, pad}),
          attr, CpuEngine());
      weights_desc = pd.weights_desc();
      implementation_ = pd.impl_info_str();
      primitive_ = dnnl::convolution_forward(pd);
    } else {
      const dnnl::matmul::primitive_desc pd(
          dnnl::matmul::desc(src_desc, any_weights, bias_desc, dst_desc), attr, CpuEngine());
      weights_desc = pd.weights_desc();
      implementation_ = pd.impl_info_str();
      primitive_ = dnnl::matmul(pd);
    }
  } catch (const dnnl::error& e) {
    throw UnsupportedError(std::string(LayerOpName(layer.op)) + " " + std::to_string(layer.cin) +
                           "->" + std::to_string(cout) + ": " + OneDnnVersion() +
                           " has no int8 kernel for it on this CPU (" + e.what() + ")");
  }

  // Weights into the layout the kernel chose, once.
  dnnl::memory user_weights({weight_dims, dt::s8, user_weight_tag}, CpuEngine(), quantized.data());
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
