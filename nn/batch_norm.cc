// Batch normalisation over N, H and W per channel. Running statistics follow PyTorch: the
// running variance takes the unbiased batch variance.
#include <tbb/parallel_for.h>

#include <cmath>
#include <tuple>
#include <utility>

#include "core/errors.h"
#include "nn/layer.h"

namespace hwnas {

namespace {

class BatchNorm : public Module {
 public:
  BatchNorm(int channels, float momentum, float epsilon)
      : channels_(channels),
        momentum_(momentum),
        epsilon_(epsilon),
        scale_({channels}, true, false),
        shift_({channels}, true, false),
        running_mean_({channels}, false),
        running_var_({channels}, false) {
    scale_.value.setOnes();
    running_var_.value.setOnes();
  }

  Tensor Forward(Tensor input, Mode mode) override {
    HWNAS_CHECK(input.shape.c == channels_);
    const int n = input.shape.n;
    const int pixels = input.shape.h * input.shape.w;
    Tensor output(input.shape);
    float momentum = momentum_;
    if (mode == Mode::kTrain) {
      mean_.resize(channels_);
      inv_std_.resize(channels_);
      if (averaged_batches_ >= 0) momentum = 1.0f / static_cast<float>(++averaged_batches_);
    }
    tbb::parallel_for(0, channels_, [&](int c) {
      float mean = running_mean_.value[c];
      float var = running_var_.value[c];
      if (mode == Mode::kTrain) {
        // Float sums within a plane (they vectorise), double across planes; the variance from
        // deviations about the mean, which stays exact when |mean| >> std.
        const double count = static_cast<double>(n) * pixels;
        double sum = 0;
        for (int i = 0; i < n; ++i) sum += Plane(input, i, c).sum();
        const double batch_mean = sum / count;
        double squared_deviations = 0;
        for (int i = 0; i < n; ++i) {
          squared_deviations += (Plane(input, i, c) - static_cast<float>(batch_mean)).square().sum();
        }
        const double batch_var = squared_deviations / count;
        mean = static_cast<float>(batch_mean);
        var = static_cast<float>(batch_var);
        mean_[c] = mean;
        inv_std_[c] = 1.0f / std::sqrt(var + epsilon_);
        const double unbiased = count > 1 ? batch_var * count / (count - 1) : batch_var;
        running_mean_.value[c] = (1 - momentum) * running_mean_.value[c] + momentum * mean;
        running_var_.value[c] =
            (1 - momentum) * running_var_.value[c] + momentum * static_cast<float>(unbiased);
      }
      const auto [a, b] = Affine(c, mean, var);
      for (int i = 0; i < n; ++i) Plane(output, i, c) = Plane(input, i, c) * a + b;
    });
    if (mode == Mode::kTrain) input_ = std::move(input);
    return output;
  }

  Tensor Backward(Tensor grad_output) override {
    const int n = input_.shape.n;
    const double count = static_cast<double>(n) * input_.shape.h * input_.shape.w;
    tbb::parallel_for(0, channels_, [&](int c) {
      const float mean = mean_[c];
      const float inv_std = inv_std_[c];
      double sum_grad = 0, sum_grad_xhat = 0;
      for (int i = 0; i < n; ++i) {
        const auto grad = Plane(grad_output, i, c);
        sum_grad += grad.sum();
        sum_grad_xhat += (grad * (Plane(input_, i, c) - mean)).sum() * inv_std;
      }
      scale_.grad[c] += static_cast<float>(sum_grad_xhat);
      shift_.grad[c] += static_cast<float>(sum_grad);
      if (!input_gradient_) return;
      // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)), in place in dy.
      const float k = scale_.value[c] * inv_std;
      const float mean_grad = static_cast<float>(sum_grad / count);
      const float mean_grad_xhat = static_cast<float>(sum_grad_xhat / count);
      for (int i = 0; i < n; ++i) {
        auto grad = Plane(grad_output, i, c);
        const auto xhat = (Plane(input_, i, c) - mean) * inv_std;
        grad = k * (grad - mean_grad - xhat * mean_grad_xhat);
      }
    });
    if (!input_gradient_) return {};
    return grad_output;
  }

  void ResetRunningStatistics() override {
    running_mean_.value.setZero();
    running_var_.value.setOnes();
    averaged_batches_ = 0;
  }

  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) override {
    out.push_back({prefix + "weight", &scale_});
    out.push_back({prefix + "bias", &shift_});
    out.push_back({prefix + "running_mean", &running_mean_});
    out.push_back({prefix + "running_var", &running_var_});
  }

  bool AppendToEpilogue(ChannelEpilogue& epilogue) const override {
    if (epilogue.Clamps()) return false;  // an affine map after a clamp is none of its own
    Eigen::ArrayXf a(channels_), b(channels_);
    for (int c = 0; c < channels_; ++c) {
      std::tie(a[c], b[c]) = Affine(c, running_mean_.value[c], running_var_.value[c]);
    }
    // (x * s + t) * a + b = x * (s * a) + (t * a + b)
    if (epilogue.shift.size()) b += epilogue.shift * a;
    if (epilogue.scale.size()) a *= epilogue.scale;
    epilogue.scale = std::move(a);
    epilogue.shift = std::move(b);
    return true;
  }

  std::string Describe() const override { return "batchnorm " + std::to_string(channels_); }

 private:
  // y = x * a + b normalises channel c with this mean and variance.
  std::pair<float, float> Affine(int c, float mean, float var) const {
    const float a = scale_.value[c] * (1.0f / std::sqrt(var + epsilon_));
    return {a, shift_.value[c] - mean * a};
  }

  static Eigen::Map<Eigen::ArrayXf> Plane(Tensor& t, int i, int c) {
    const int pixels = t.shape.h * t.shape.w;
    return {t.Item(i) + static_cast<int64_t>(c) * pixels, pixels};
  }
  static Eigen::Map<const Eigen::ArrayXf> Plane(const Tensor& t, int i, int c) {
    const int pixels = t.shape.h * t.shape.w;
    return {t.Item(i) + static_cast<int64_t>(c) * pixels, pixels};
  }

  int channels_;
  float momentum_, epsilon_;
  int64_t averaged_batches_ = -1;  // >= 0 after ResetRunningStatistics: batches averaged so far
  Parameter scale_, shift_, running_mean_, running_var_;
  std::vector<float> mean_, inv_std_;  // of the last training batch
  Tensor input_;
};

}  // namespace

std::unique_ptr<Module> MakeBatchNorm(int channels, float momentum, float epsilon) {
  HWNAS_CHECK(channels > 0);
  return std::make_unique<BatchNorm>(channels, momentum, epsilon);
}

}  // namespace hwnas
