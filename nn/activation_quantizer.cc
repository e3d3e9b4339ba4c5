// Fake quantization of activations: the range follows training batches by EMA and is frozen in
// evaluation; the backward pass is the clipped straight-through estimator.
#include "compress/fake_quant.h"
#include "nn/layer.h"

namespace hwnas {

namespace {

class ActivationQuantizerModule : public Module {
 public:
  explicit ActivationQuantizerModule(int bits) : bits_(bits), quantizer_(bits), range_({2}, false) {}

  // `range_` is the one range that counts: training moves it by EMA (continuing from a loaded
  // one), evaluation only reads it. Before any training or load, evaluation quantizes over the
  // batch's own range and changes nothing.
  Tensor Forward(Tensor input, Mode mode) override {
    const bool has_range = range_.value[0] != 0.0f || range_.value[1] != 0.0f;
    if (mode == Mode::kTrain) {
      if (has_range && !quantizer_.observed()) quantizer_.SetRange(range_.value[0], range_.value[1]);
      quantizer_.Observe(input.values);
      grid_ = quantizer_.grid();
      range_.value << grid_.min, grid_.max;  // saved with the weights
      input_ = input;
    } else {
      const float low = has_range ? range_.value[0] : input.values.minCoeff();
      const float high = has_range ? range_.value[1] : input.values.maxCoeff();
      grid_ = MakeQuantGrid(low, high, bits_, QuantScheme::kAffine);
    }
    FakeQuantize(input.values, grid_, input.values);
    return input;
  }

  Tensor Backward(Tensor grad_output) override {
    StraightThroughGradient(input_.values, grid_, grad_output.values, grad_output.values);
    return grad_output;
  }

  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) override {
    out.push_back({prefix + "range", &range_});
  }

  std::string Describe() const override { return "quantize activations " + std::to_string(bits_) + " bits"; }

 private:
  int bits_;
  ActivationQuantizer quantizer_;
  Parameter range_;  // min, max
  QuantGrid grid_;
  Tensor input_;  // before quantization, for the estimator's clipping test
};

}  // namespace

std::unique_ptr<Module> MakeActivationQuantizer(int bits) {
  return std::make_unique<ActivationQuantizerModule>(bits);
}

}  // namespace hwnas
