// Average, max and global-average pooling over each channel plane.
#include <limits>

#include "core/errors.h"
#include "nn/batch_chunks.h"
#include "nn/layer.h"

namespace hwnas {

namespace {

constexpr int kImagesPerChunk = 8;

class Pool : public Module {
 public:
  enum class Kind { kAverage, kMax };

  Pool(Kind kind, int kernel, int stride, int padding)
      : kind_(kind), kernel_(kernel), stride_(stride), padding_(padding) {
    HWNAS_CHECK(kernel > 0 && stride > 0 && padding >= 0 && 2 * padding <= kernel);
  }

  Tensor Forward(Tensor input, Mode mode) override {
    const Shape in = input.shape;
    // Backward belongs to the last training forward: only it sets the saved shape.
    if (mode == Mode::kTrain) in_ = in;
    const Shape out_shape{in.n, in.c, (in.h + 2 * padding_ - kernel_) / stride_ + 1,
                          (in.w + 2 * padding_ - kernel_) / stride_ + 1};
    HWNAS_CHECK(out_shape.h > 0 && out_shape.w > 0);
    Tensor output(out_shape);
    if (kind_ == Kind::kMax && mode == Mode::kTrain) argmax_.resize(out_shape.Size());
    ForEachChunk(in.n, kImagesPerChunk, [&](int, int first, int end) {
      for (int64_t p = int64_t{first} * in.c; p < int64_t{end} * in.c; ++p) {
        const float* plane = input.values.data() + p * in.h * in.w;
        float* out = output.values.data() + p * out_shape.h * out_shape.w;
        int* arg = kind_ == Kind::kMax && mode == Mode::kTrain
                       ? argmax_.data() + p * out_shape.h * out_shape.w
                       : nullptr;
        for (int oy = 0; oy < out_shape.h; ++oy) {
          for (int ox = 0; ox < out_shape.w; ++ox) {
            const Window win = WindowAt(in, oy, ox);
            float acc = kind_ == Kind::kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
            int best = win.y0 * in.w + win.x0;
            for (int y = win.y0; y < win.y1; ++y) {
              for (int x = win.x0; x < win.x1; ++x) {
                const float v = plane[y * in.w + x];
                if (kind_ == Kind::kAverage) acc += v;
                else if (v > acc) acc = v, best = y * in.w + x;
              }
            }
            const int o = oy * out_shape.w + ox;
            out[o] = kind_ == Kind::kAverage ? acc / win.Count() : acc;
            if (arg) arg[o] = best;
          }
        }
      }
    });
    return output;
  }

  Tensor Backward(Tensor grad_output) override {
    const Shape out_shape = grad_output.shape;
    Tensor grad_input(in_);
    grad_input.values.setZero();
    ForEachChunk(in_.n, kImagesPerChunk, [&](int, int first, int end) {
      for (int64_t p = int64_t{first} * in_.c; p < int64_t{end} * in_.c; ++p) {
        float* in = grad_input.values.data() + p * in_.h * in_.w;
        const float* out = grad_output.values.data() + p * out_shape.h * out_shape.w;
        for (int oy = 0; oy < out_shape.h; ++oy) {
          for (int ox = 0; ox < out_shape.w; ++ox) {
            const int o = oy * out_shape.w + ox;
            if (kind_ == Kind::kMax) {
              in[argmax_[p * out_shape.h * out_shape.w + o]] += out[o];
              continue;
            }
            const Window win = WindowAt(in_, oy, ox);
            const float share = out[o] / win.Count();
            for (int y = win.y0; y < win.y1; ++y) {
              for (int x = win.x0; x < win.x1; ++x) in[y * in_.w + x] += share;
            }
          }
        }
      }
    });
    return grad_input;
  }

  std::string Describe() const override {
    return std::string(kind_ == Kind::kMax ? "maxpool" : "avgpool") + " k" +
           std::to_string(kernel_) + " s" + std::to_string(stride_) + " p" + std::to_string(padding_);
  }

 private:
  struct Window {
    int y0, y1, x0, x1;  // in-bounds input rows [y0, y1) and columns [x0, x1)
    float Count() const { return static_cast<float>((y1 - y0) * (x1 - x0)); }
  };

  Window WindowAt(const Shape& in, int oy, int ox) const {
    const int y = oy * stride_ - padding_, x = ox * stride_ - padding_;
    return {std::max(y, 0), std::min(y + kernel_, in.h), std::max(x, 0), std::min(x + kernel_, in.w)};
  }

  Kind kind_;
  int kernel_, stride_, padding_;
  Shape in_;
  std::vector<int> argmax_;  // per output: the input index it took, in its plane
};

class GlobalAvgPool : public Module {
 public:
  Tensor Forward(Tensor input, Mode mode) override {
    const Shape in = input.shape;
    if (mode == Mode::kTrain) in_ = in;
    Tensor output({in.n, in.c, 1, 1});
    const ConstRowMap planes(input.values.data(), in.n * in.c, in.h * in.w);
    output.values = planes.rowwise().mean().array();
    return output;
  }

  Tensor Backward(Tensor grad_output) override {
    Tensor grad_input(in_);
    const int pixels = in_.h * in_.w;
    RowMap(grad_input.values.data(), in_.n * in_.c, pixels).colwise() =
        (grad_output.values / static_cast<float>(pixels)).matrix();
    return grad_input;
  }

  std::string Describe() const override { return "global avgpool"; }

 private:
  Shape in_;
};

}  // namespace

std::unique_ptr<Module> MakeAvgPool(int kernel, int stride, int padding) {
  return std::make_unique<Pool>(Pool::Kind::kAverage, kernel, stride, padding);
}

std::unique_ptr<Module> MakeMaxPool(int kernel, int stride, int padding) {
  return std::make_unique<Pool>(Pool::Kind::kMax, kernel, stride, padding);
}

std::unique_ptr<Module> MakeGlobalAvgPool() { return std::make_unique<GlobalAvgPool>(); }

}  // namespace hwnas
