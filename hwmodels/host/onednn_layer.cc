#include "hwmodels/host/onednn_layer.h"

#include <algorithm>

namespace hwnas {

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

dnnl::memory::format_tag LowPrecisionTag(const dnnl::memory::dims& dims) {
  return dims.size() == 4 ? dnnl::memory::format_tag::nhwc : dnnl::memory::format_tag::ab;
}

ActivationReorder::ActivationReorder(Direction direction, const dnnl::memory::dims& dims,
                                     dnnl::memory::data_type low, float scale)
    : direction_(direction) {
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::desc float_desc(dims, dnnl::memory::data_type::f32,
                                      dims.size() == 4 ? tag::nchw : tag::ab);
  // The float buffer is the caller's tensor, bound at each Execute.
  float_ = dnnl::memory(float_desc, CpuEngine(), nullptr);
  low_ = dnnl::memory({dims, low, LowPrecisionTag(dims)}, CpuEngine());
  const bool to_low = direction == Direction::kToLow;
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {to_low ? 1.0f / scale : scale});
  reorder_ = to_low ? dnnl::reorder(float_, low_, attr) : dnnl::reorder(low_, float_, attr);
}

void ActivationReorder::Execute(float* float_data) {
  float_.set_data_handle(float_data);
  if (direction_ == Direction::kToLow) {
    reorder_.execute(CpuStream(), float_, low_);
  } else {
    reorder_.execute(CpuStream(), low_, float_);
  }
  CpuStream().wait();
}

WeightLayerDims DimsOf(const Layer& layer, int batch) {
  using tag = dnnl::memory::format_tag;
  WeightLayerDims d;
  d.per_channel = layer.op == LayerOp::kConv
                      ? int64_t{layer.cin} / layer.groups * layer.kernel * layer.kernel
                      : layer.cin;
  if (layer.op == LayerOp::kConv) {
    const int h_out = layer.HOut();
    d.src = {batch, layer.cin, layer.h_in, layer.h_in};
    d.dst = {batch, layer.cout, h_out, h_out};
    d.bias = {layer.cout};
    if (layer.groups == 1) {
      d.weights = {layer.cout, layer.cin, layer.kernel, layer.kernel};
      d.user_weights = tag::oihw;
    } else {
      d.weights = {layer.groups, layer.cout / layer.groups, layer.cin / layer.groups, layer.kernel,
                   layer.kernel};
      d.user_weights = tag::goihw;
    }
  } else {
    d.src = {batch, layer.cin};
    d.dst = {batch, layer.cout};
    d.bias = {1, layer.cout};
    d.weights = {layer.cin, layer.cout};
    d.user_weights = tag::ba;  // nn keeps cout x cin
  }
  return d;
}

dnnl::post_ops ActivationPostOps(PostActivation act, float relu6_top) {
  dnnl::post_ops post_ops;
  if (act == PostActivation::kRelu) {
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  } else if (act == PostActivation::kRelu6) {
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, relu6_top);
  }
  return post_ops;
}

WeightPrimitive MakeWeightPrimitive(const Layer& layer, const dnnl::memory::desc& src,
                                    const dnnl::memory::desc& weights,
                                    const dnnl::memory::desc& bias, const dnnl::memory::desc& dst,
                                    const dnnl::primitive_attr& attr) {
  if (layer.op == LayerOp::kConv) {
    const int pad = layer.padding;
    const dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, src, weights, bias,
                                        dst, {layer.stride, layer.stride}, {pad, pad}, {pad, pad}),
        attr, CpuEngine());
    return {dnnl::convolution_forward(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc(),
            pd.impl_info_str()};
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, bias, dst), attr,
                                        CpuEngine());
  return {dnnl::matmul(pd), pd.src_desc(), pd.weights_desc(), pd.dst_desc(), pd.impl_info_str()};
}

void OneDnnWeightLayer::Adopt(const WeightPrimitive& made, dnnl::memory user_weights,
                              const dnnl::memory::desc& bias_desc,
                              const std::vector<float>& bias) {
  primitive_ = made.primitive;
  implementation_ = made.implementation;
  weights_ = dnnl::memory(made.weights, CpuEngine());
  dnnl::reorder(user_weights, weights_).execute(CpuStream(), user_weights, weights_);
  bias_ = dnnl::memory(bias_desc, CpuEngine());
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
  input_ = dnnl::memory(made.src, CpuEngine());
  output_ = dnnl::memory(made.dst, CpuEngine());
  CpuStream().wait();
}

void OneDnnWeightLayer::Execute() {
  primitive_.execute(CpuStream(), {{DNNL_ARG_SRC, input_},
                                   {DNNL_ARG_WEIGHTS, weights_},
                                   {DNNL_ARG_BIAS, bias_},
                                   {DNNL_ARG_DST, output_}});
  CpuStream().wait();
}

}  // namespace hwnas
