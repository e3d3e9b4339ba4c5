// ReLU and ReLU6: element-wise clamps whose gradient passes where the input was inside.
#include <limits>

#include "nn/batch_chunks.h"
#include "nn/layer.h"

namespace hwnas {

namespace {

constexpr int kImagesPerChunk = 8;

class Clamp : public Module {
 public:
  Clamp(float upper, std::string name) : upper_(upper), name_(std::move(name)) {}

  Tensor Forward(Tensor input, Mode mode) override {
    const int64_t per_item = input.shape.PerItem();
    if (mode == Mode::kTrain) passes_.resize(input.values.size());
    ForEachChunk(input.shape.n, kImagesPerChunk, [&](int, int first, int end) {
      auto values = input.values.segment(first * per_item, (end - first) * per_item);
      if (mode == Mode::kTrain) {
        passes_.segment(first * per_item, (end - first) * per_item) = values > 0.0f && values < upper_;
      }
      values = values.max(0.0f).min(upper_);
    });
    return input;
  }

  Tensor Backward(Tensor grad_output) override {
    const int64_t per_item = grad_output.shape.PerItem();
    ForEachChunk(grad_output.shape.n, kImagesPerChunk, [&](int, int first, int end) {
      const int64_t begin = first * per_item, size = (end - first) * per_item;
      auto grads = grad_output.values.segment(begin, size);
      grads = passes_.segment(begin, size).select(grads, 0.0f);
    });
    return grad_output;
  }

  std::string Describe() const override { return name_; }

 private:
  float upper_;
  std::string name_;
  Eigen::Array<bool, Eigen::Dynamic, 1> passes_;  // where the last training input was inside
};

}  // namespace

std::unique_ptr<Module> MakeRelu() {
  return std::make_unique<Clamp>(std::numeric_limits<float>::infinity(), "relu");
}

std::unique_ptr<Module> MakeRelu6() { return std::make_unique<Clamp>(6.0f, "relu6"); }

}  // namespace hwnas
