#include "nn/layer.h"

namespace hwnas {

namespace {

// N x C x H x W -> N x (C*H*W) x 1 x 1: the values do not move.
class Flatten : public Module {
 public:
  Tensor Forward(Tensor input, Mode mode) override {
    if (mode == Mode::kTrain) in_ = input.shape;
    input.shape = {input.shape.n, static_cast<int>(input.shape.PerItem()), 1, 1};
    return input;
  }

  Tensor Backward(Tensor grad_output) override {
    grad_output.shape = in_;
    return grad_output;
  }

  std::string Describe() const override { return "flatten"; }

 private:
  Shape in_;
};

}  // namespace

std::unique_ptr<Module> MakeFlatten() { return std::make_unique<Flatten>(); }

}  // namespace hwnas
