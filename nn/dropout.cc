#include "core/errors.h"
#include "core/rng.h"
#include "nn/layer.h"

namespace hwnas {

namespace {

// Inverted dropout: kept values are scaled by 1/(1 - rate) in training, so evaluation is the
// identity.
class Dropout : public Module {
 public:
  Dropout(float rate, uint64_t seed) : rate_(rate), root_(seed) {
    HWNAS_CHECK(rate >= 0 && rate < 1);
  }

  Tensor Forward(Tensor input, Mode mode) override {
    if (mode == Mode::kEval) return input;  // the mask stays that of the last training forward
    if (rate_ == 0) {
      scale_ = Eigen::ArrayXf::Ones(input.values.size());
      return input;
    }
    Rng rng = root_.Fork(calls_++);
    scale_.resize(input.values.size());
    const float kept = 1.0f / (1.0f - rate_);
    for (auto& s : scale_) s = rng.Uniform() < rate_ ? 0.0f : kept;
    input.values *= scale_;
    return input;
  }

  Tensor Backward(Tensor grad_output) override {
    grad_output.values *= scale_;
    return grad_output;
  }

  std::string Describe() const override { return "dropout " + std::to_string(rate_); }

 private:
  float rate_;
  Rng root_;
  uint64_t calls_ = 0;
  Eigen::ArrayXf scale_;  // 0 or 1/(1 - rate) per value of the last forward
};

}  // namespace

std::unique_ptr<Module> MakeDropout(float rate, uint64_t seed) {
  return std::make_unique<Dropout>(rate, seed);
}

}  // namespace hwnas
