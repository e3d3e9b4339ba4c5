#include "nn/layer.h"

#include <numeric>

namespace hwnas {

Parameter::Parameter(std::vector<int> dims, bool is_trainable, bool has_decay)
    : shape(std::move(dims)), trainable(is_trainable), decay(has_decay) {
  const int64_t size = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  value = Eigen::ArrayXf::Zero(size);
  grad = Eigen::ArrayXf::Zero(size);
}

void Module::CollectParameters(const std::string&, std::vector<NamedParameter>&) {}

void Module::CollectCompressible(const std::string&, std::vector<CompressibleLayer>&) {}

Tensor Module::ForwardWithEpilogue(Tensor input, const ChannelEpilogue& epilogue) {
  Tensor output = Forward(std::move(input), Mode::kEval);
  for (int i = 0; i < output.shape.n; ++i) {
    epilogue.Apply(output.Item(i), 0, output.shape.c, output.shape.h * output.shape.w);
  }
  return output;
}

void ChannelEpilogue::AddBefore(const Eigen::ArrayXf& bias) {
  // (x + bias) * scale + shift = x * scale + (bias * scale + shift)
  Eigen::ArrayXf moved = scale.size() ? Eigen::ArrayXf(bias * scale) : bias;
  if (shift.size()) moved += shift;
  shift = std::move(moved);
}

void ChannelEpilogue::Apply(float* planes, int first, int channels, int pixels) const {
  if (IsIdentity()) return;
  for (int c = 0; c < channels; ++c) {
    Eigen::Map<Eigen::ArrayXf> plane(planes + int64_t{c} * pixels, pixels);
    plane = (plane * Scale(first + c) + Shift(first + c)).max(lower).min(upper);
  }
}

}  // namespace hwnas
