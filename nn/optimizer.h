// Optimizers over a network's trainable parameters. Step() reads Parameter::grad; ZeroGrad()
// clears it for the next batch.
#pragma once

#include <memory>
#include <vector>

#include "nn/layer.h"

namespace hwnas {

class Optimizer {
 public:
  explicit Optimizer(const std::vector<NamedParameter>& parameters);
  virtual ~Optimizer() = default;

  virtual void Step() = 0;
  void ZeroGrad();

  void set_learning_rate(double lr) { learning_rate_ = lr; }
  double learning_rate() const { return learning_rate_; }
  // SGD's momentum, Adam's beta1: what a one-cycle schedule cycles.
  void set_momentum(double momentum) { momentum_ = momentum; }
  double momentum() const { return momentum_; }

 protected:
  std::vector<Parameter*> parameters_;  // trainable ones only
  double learning_rate_ = 0.01;
  double momentum_ = 0;
};

struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0.9;
  double weight_decay = 0;  // L2, added to the gradient (PyTorch's SGD convention)
  bool nesterov = false;
  // Above 0, the gradient of all parameters together is scaled down to at most this L2 norm
  // before the step, as PyTorch's clip_grad_norm_ does, and a non-finite gradient throws
  // NumericalError: a training that diverges stops with its step instead of turning into NaN.
  double max_gradient_norm = 0;
};

struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0;  // L2, added to the gradient (PyTorch's Adam convention)
};

std::unique_ptr<Optimizer> MakeSgd(const std::vector<NamedParameter>& parameters, const SgdOptions& options);
std::unique_ptr<Optimizer> MakeAdam(const std::vector<NamedParameter>& parameters, const AdamOptions& options);

}  // namespace hwnas
