// y = x W^T + b on the flattened input, one GEMM for the whole batch.
#include <cmath>
#include <utility>

#include "core/errors.h"
#include "core/rng.h"
#include "nn/layer.h"
#include "nn/weight_compression.h"

namespace hwnas {

namespace {

class Linear : public Module {
 public:
  Linear(int in, int out, Rng& init)
      : in_(in), out_(out), weight_({out, in}), bias_({out}, true, false) {
    HWNAS_CHECK(in > 0 && out > 0);
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    for (auto& w : weight_.value) w = static_cast<float>((2 * init.Uniform() - 1) * bound);
    for (auto& b : bias_.value) b = static_cast<float>((2 * init.Uniform() - 1) * bound);
  }

  Tensor Forward(Tensor input, Mode mode) override {
    HWNAS_CHECK(input.shape.PerItem() == in_);
    Tensor output({input.shape.n, out_, 1, 1});
    output.BatchMatrix().noalias() =
        std::as_const(input).BatchMatrix() * compression_.Effective(weight_, out_, in_).transpose();
    output.BatchMatrix().rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias_.value.data(), out_);
    if (mode == Mode::kTrain) input_ = std::move(input);
    return output;
  }

  Tensor Backward(Tensor grad_output) override {
    const ConstRowMap grads = std::as_const(grad_output).BatchMatrix();
    RowMatrix weight_grad = grads.transpose() * std::as_const(input_).BatchMatrix();
    compression_.BackwardInPlace(weight_grad);
    RowMap(weight_.grad.data(), out_, in_) += weight_grad;
    bias_.grad.matrix() += grads.colwise().sum().transpose();
    if (!input_gradient_) return {};
    Tensor grad_input(input_.shape);
    grad_input.BatchMatrix().noalias() = grads * compression_.LastEffective(weight_, out_, in_);
    return grad_input;
  }

  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) override {
    out.push_back({prefix + "weight", &weight_});
    out.push_back({prefix + "bias", &bias_});
  }

  void CollectCompressible(const std::string& prefix, std::vector<CompressibleLayer>& out) override {
    out.push_back({prefix + "weight", &weight_, out_, in_, &compression_});
  }

  std::string Describe() const override {
    return "linear " + std::to_string(in_) + "->" + std::to_string(out_);
  }

 private:
  int in_, out_;
  Parameter weight_;
  Parameter bias_;
  WeightCompression compression_;
  Tensor input_;
};

}  // namespace

std::unique_ptr<Module> MakeLinear(int in_features, int out_features, Rng& init) {
  return std::make_unique<Linear>(in_features, out_features, init);
}

}  // namespace hwnas
