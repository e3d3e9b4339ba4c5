#include "hwmodels/host/onednn_layer.h"

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

WeightLayerDims DimsOf(const Layer& layer, int batch) {
  using tag = dnnl::memory::format_tag;
  WeightLayerDims d;
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

}  // namespace hwnas
