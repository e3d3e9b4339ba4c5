#include "hwmodels/host/onednn_bf16.h"

#include <algorithm>
#include <vector>

#include "core/errors.h"

namespace hwnas {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

tag PlainTag(const dnnl::memory::dims& dims) { return dims.size() == 4 ? tag::nchw : tag::ab; }

}  // namespace

Bf16WeightLayer::Bf16WeightLayer(const Layer& layer, int batch, const FoldedWeights& folded,
                                 PostActivation act) {
  const bool conv = layer.op == LayerOp::kConv;
  HWNAS_CHECK(conv || layer.op == LayerOp::kLinear);
  const WeightLayerDims dims = DimsOf(layer, batch);
  output_dims_ = dims.dst;

  // The batch norm's scale goes into the weights before rounding to bf16, as a deployment
  // folds it; its shift is the fp32 bias.
  const int64_t per_channel = conv ? int64_t{layer.cin} / layer.groups * layer.kernel * layer.kernel
                                   : layer.cin;
  std::vector<float> scaled(static_cast<size_t>(layer.cout * per_channel));
  for (int c = 0; c < layer.cout; ++c) {
    for (int64_t i = 0; i < per_channel; ++i) {
      scaled[c * per_channel + i] = folded.weights[c * per_channel + i] * folded.bn_scale[c];
    }
  }

  dnnl::primitive_attr attr;
  attr.set_post_ops(ActivationPostOps(act, 6.0f));
  const dnnl::memory::desc any_src(dims.src, dt::bf16, tag::any);
  const dnnl::memory::desc any_weights(dims.weights, dt::bf16, tag::any);
  const dnnl::memory::desc bias_desc(dims.bias, dt::f32, conv ? tag::a : tag::ab);
  const dnnl::memory::desc any_dst(dims.dst, dt::f32, tag::any);
  const std::string name = std::string(LayerOpName(layer.op)) + " " + std::to_string(layer.cin) +
                           "->" + std::to_string(layer.cout) + ": " + OneDnnVersion();
  WeightPrimitive made;
  try {
    made = MakeWeightPrimitive(layer, any_src, any_weights, bias_desc, any_dst, attr);
  } catch (const dnnl::error& e) {
    throw UnsupportedError(name + " has no bf16 kernel for it on this CPU (" + e.what() + ")");
  }
  // A reference implementation is a scalar loop that emulates bf16: not what bf16 costs.
  if (made.implementation.find("ref") != std::string::npos) {
    throw UnsupportedError(name + " has no native bf16 kernel on this CPU (it offers only '" +
                           made.implementation + "'; bf16 needs AVX512-BF16)");
  }
  primitive_ = made.primitive;
  implementation_ = made.implementation;

  dnnl::memory user_weights({dims.weights, dt::f32, dims.user_weights}, CpuEngine(),
                            scaled.data());
  weights_ = dnnl::memory(made.weights, CpuEngine());
  dnnl::reorder(user_weights, weights_).execute(CpuStream(), user_weights, weights_);
  bias_ = dnnl::memory(bias_desc, CpuEngine());
  std::copy(folded.bias.begin(), folded.bias.end(),
            static_cast<float*>(bias_.get_data_handle()));

  // The caller's fp32 tensors are bound at each Execute.
  user_input_ = dnnl::memory({dims.src, dt::f32, PlainTag(dims.src)}, CpuEngine(), nullptr);
  input_ = dnnl::memory(made.src, CpuEngine());
  to_bf16_ = dnnl::reorder(user_input_, input_);
  const dnnl::memory::desc user_dst(dims.dst, dt::f32, PlainTag(dims.dst));
  user_output_ = dnnl::memory(user_dst, CpuEngine(), nullptr);
  output_is_user_ = made.dst == user_dst;
  if (!output_is_user_) {
    output_ = dnnl::memory(made.dst, CpuEngine());
    from_output_ = dnnl::reorder(output_, user_output_);
  }
  CpuStream().wait();
}

void Bf16WeightLayer::Execute(const float* input, float* output) {
  user_input_.set_data_handle(const_cast<float*>(input));
  user_output_.set_data_handle(output);
  to_bf16_.execute(CpuStream(), user_input_, input_);
  const dnnl::memory& dst = output_is_user_ ? user_output_ : output_;
  primitive_.execute(CpuStream(), {{DNNL_ARG_SRC, input_},
                                   {DNNL_ARG_WEIGHTS, weights_},
                                   {DNNL_ARG_BIAS, bias_},
                                   {DNNL_ARG_DST, dst}});
  if (!output_is_user_) from_output_.execute(CpuStream(), output_, user_output_);
  CpuStream().wait();
}

}  // namespace hwnas
