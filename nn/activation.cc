// ReLU and ReLU6: element-wise clamps whose gradient passes where the input was inside.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

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
      float* values = input.values.data() + first * per_item;
      const int64_t size = (end - first) * per_item;
      // Plain branch-free loops over locals vectorise; Eigen's boolean arrays, a short-circuit
      // && (a branch per value) and a member read through the byte pointer do not.
      const float upper = upper_;
      if (mode == Mode::kTrain) {
        uint8_t* passes = passes_.data() + first * per_item;
        for (int64_t i = 0; i < size; ++i) passes[i] = (values[i] > 0.0f) & (values[i] < upper);
      }
      for (int64_t i = 0; i < size; ++i) values[i] = std::min(std::max(values[i], 0.0f), upper);
    });
    return input;
  }

  Tensor Backward(Tensor grad_output) override {
    const int64_t per_item = grad_output.shape.PerItem();
    ForEachChunk(grad_output.shape.n, kImagesPerChunk, [&](int, int first, int end) {
      float* grads = grad_output.values.data() + first * per_item;
      const uint8_t* passes = passes_.data() + first * per_item;
      const int64_t size = (end - first) * per_item;
      for (int64_t i = 0; i < size; ++i) grads[i] = passes[i] ? grads[i] : 0.0f;
    });
    return grad_output;
  }

  bool AppendToEpilogue(ChannelEpilogue& epilogue) const override {
    epilogue.lower = std::max(epilogue.lower, 0.0f);
    epilogue.upper = std::min(epilogue.upper, upper_);
    return true;
  }

  std::string Describe() const override { return name_; }

 private:
  float upper_;
  std::string name_;
  std::vector<uint8_t> passes_;  // 1 where the last training input was inside
};

}  // namespace

std::unique_ptr<Module> MakeRelu() {
  return std::make_unique<Clamp>(std::numeric_limits<float>::infinity(), "relu");
}

std::unique_ptr<Module> MakeRelu6() { return std::make_unique<Clamp>(6.0f, "relu6"); }

}  // namespace hwnas
