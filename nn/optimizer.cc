#include "nn/optimizer.h"

#include <cmath>

#include "core/errors.h"

namespace hwnas {

Optimizer::Optimizer(const std::vector<NamedParameter>& parameters) {
  for (const auto& p : parameters) {
    if (p.parameter->trainable) parameters_.push_back(p.parameter);
  }
}

void Optimizer::ZeroGrad() {
  for (auto* p : parameters_) p->grad.setZero();
}

namespace {

Eigen::ArrayXf DecayedGrad(const Parameter& p, double weight_decay, float grad_scale = 1) {
  if (weight_decay == 0 || !p.decay) return grad_scale * p.grad;
  return grad_scale * p.grad + static_cast<float>(weight_decay) * p.value;
}

// The factor that brings the gradients' joint L2 norm down to `max_norm` (1 when within it).
float ClippingScale(const std::vector<Parameter*>& parameters, double max_norm, int64_t step) {
  double squares = 0;
  for (const Parameter* p : parameters) squares += p->grad.cast<double>().square().sum();
  const double norm = std::sqrt(squares);
  if (!std::isfinite(norm)) {
    throw NumericalError("training diverged: the gradient is not finite at step " +
                         std::to_string(step + 1));
  }
  return norm > max_norm ? static_cast<float>(max_norm / norm) : 1.0f;
}

class Sgd : public Optimizer {
 public:
  Sgd(const std::vector<NamedParameter>& parameters, const SgdOptions& o)
      : Optimizer(parameters), options_(o) {
    HWNAS_CHECK(o.learning_rate >= 0 && o.momentum >= 0 && o.weight_decay >= 0 &&
                o.max_gradient_norm >= 0);
    learning_rate_ = o.learning_rate;
    momentum_ = o.momentum;
    for (auto* p : parameters_) velocity_.push_back(Eigen::ArrayXf::Zero(p->value.size()));
  }

  void Step() override {
    const auto lr = static_cast<float>(learning_rate_), mu = static_cast<float>(momentum_);
    const float grad_scale = options_.max_gradient_norm > 0
                                 ? ClippingScale(parameters_, options_.max_gradient_norm, steps_)
                                 : 1.0f;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      Parameter& p = *parameters_[i];
      const Eigen::ArrayXf grad = DecayedGrad(p, options_.weight_decay, grad_scale);
      // The first step takes the gradient itself as the velocity, as PyTorch does.
      velocity_[i] = steps_ == 0 ? grad : Eigen::ArrayXf(mu * velocity_[i] + grad);
      p.value -= lr * (options_.nesterov ? Eigen::ArrayXf(grad + mu * velocity_[i]) : velocity_[i]);
    }
    ++steps_;
  }

 private:
  SgdOptions options_;
  std::vector<Eigen::ArrayXf> velocity_;
  int64_t steps_ = 0;
};

class Adam : public Optimizer {
 public:
  Adam(const std::vector<NamedParameter>& parameters, const AdamOptions& o)
      : Optimizer(parameters), options_(o) {
    HWNAS_CHECK(o.learning_rate >= 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1);
    learning_rate_ = o.learning_rate;
    momentum_ = o.beta1;
    for (auto* p : parameters_) {
      first_.push_back(Eigen::ArrayXf::Zero(p->value.size()));
      second_.push_back(Eigen::ArrayXf::Zero(p->value.size()));
    }
  }

  void Step() override {
    ++steps_;
    const double beta1 = momentum_, beta2 = options_.beta2;
    const double step_size = learning_rate_ / (1 - std::pow(beta1, steps_));
    const double second_correction = std::sqrt(1 - std::pow(beta2, steps_));
    for (size_t i = 0; i < parameters_.size(); ++i) {
      Parameter& p = *parameters_[i];
      const Eigen::ArrayXf grad = DecayedGrad(p, options_.weight_decay);
      first_[i] = static_cast<float>(beta1) * first_[i] + static_cast<float>(1 - beta1) * grad;
      second_[i] = static_cast<float>(beta2) * second_[i] + static_cast<float>(1 - beta2) * grad.square();
      p.value -= static_cast<float>(step_size) * first_[i] /
                 (second_[i].sqrt() / static_cast<float>(second_correction) +
                  static_cast<float>(options_.epsilon));
    }
  }

 private:
  AdamOptions options_;
  std::vector<Eigen::ArrayXf> first_, second_;
  int64_t steps_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> MakeSgd(const std::vector<NamedParameter>& parameters, const SgdOptions& options) {
  return std::make_unique<Sgd>(parameters, options);
}

std::unique_ptr<Optimizer> MakeAdam(const std::vector<NamedParameter>& parameters, const AdamOptions& options) {
  return std::make_unique<Adam>(parameters, options);
}

}  // namespace hwnas
