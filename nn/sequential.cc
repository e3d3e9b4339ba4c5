#include "nn/sequential.h"

#include "core/errors.h"
#include "nn/weight_compression.h"

namespace hwnas {

void Sequential::Add(std::unique_ptr<Module> layer) {
  if (layers_.empty()) layer->set_input_gradient(input_gradient_);
  layers_.push_back(std::move(layer));
}

Tensor Sequential::Forward(Tensor input, Mode mode) {
  if (!layers_.empty()) layers_.front()->set_input_gradient(input_gradient_);
  for (size_t i = 0; i < layers_.size();) {
    Module& layer = *layers_[i++];
    ChannelEpilogue epilogue;
    const size_t first_folded = i;
    if (mode == Mode::kEval && layer.TakesEpilogue()) {
      while (i < layers_.size() && layers_[i]->AppendToEpilogue(epilogue)) ++i;
    }
    input = i > first_folded ? layer.ForwardWithEpilogue(std::move(input), epilogue)
                             : layer.Forward(std::move(input), mode);
  }
  return input;
}

Tensor Sequential::Backward(Tensor grad_output) {
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    grad_output = (*it)->Backward(std::move(grad_output));
  }
  return grad_output;
}

void Sequential::CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->CollectParameters(prefix + std::to_string(i) + ".", out);
  }
}

void Sequential::CollectCompressible(const std::string& prefix, std::vector<CompressibleLayer>& out) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->CollectCompressible(prefix + std::to_string(i) + ".", out);
  }
}

void Sequential::ResetRunningStatistics() {
  for (auto& layer : layers_) layer->ResetRunningStatistics();
}

std::string Sequential::Describe() const {
  std::string text;
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::string line = layers_[i]->Describe();
    // Nested containers indent their lines under this one.
    for (size_t at = line.find('\n'); at != std::string::npos; at = line.find('\n', at + 1)) {
      line.insert(at + 1, "  ");
    }
    text += (i ? "\n" : "") + std::to_string(i) + ": " + line;
  }
  return text;
}

namespace {

class Residual : public Module {
 public:
  explicit Residual(std::unique_ptr<Sequential> body) : body_(std::move(body)) {}

  Tensor Forward(Tensor input, Mode mode) override {
    Tensor output = body_->Forward(input, mode);
    HWNAS_CHECK(output.shape == input.shape);
    output.values += input.values;
    return output;
  }

  Tensor Backward(Tensor grad_output) override {
    Tensor grad_input = body_->Backward(grad_output);
    grad_input.values += grad_output.values;
    return grad_input;
  }

  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) override {
    body_->CollectParameters(prefix + "body.", out);
  }

  void CollectCompressible(const std::string& prefix, std::vector<CompressibleLayer>& out) override {
    body_->CollectCompressible(prefix + "body.", out);
  }

  void ResetRunningStatistics() override { body_->ResetRunningStatistics(); }

  std::string Describe() const override { return "residual\n" + body_->Describe(); }

 private:
  std::unique_ptr<Sequential> body_;
};

}  // namespace

std::unique_ptr<Module> MakeResidual(std::unique_ptr<Sequential> body) {
  return std::make_unique<Residual>(std::move(body));
}

}  // namespace hwnas
