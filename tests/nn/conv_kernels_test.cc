// The direct kernels (forward, weight gradient, input gradient) against naive loops over many
// shapes, and the conv layer's paths and evaluation-mode fusion (batch norm, ReLU into the conv)
// against running the layers one by one.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "nn/conv_kernels.h"
#include "nn/layer.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn/sequential.h"
#include "nn/training_step.h"

namespace hwnas {
namespace {

std::vector<float> Random(int64_t size, Rng& rng) {
  std::vector<float> values(size);
  for (auto& v : values) v = static_cast<float>(2 * rng.Uniform() - 1);
  return values;
}

Eigen::ArrayXf RandomArray(int size, Rng& rng, float low, float high) {
  Eigen::ArrayXf values(size);
  for (auto& v : values) v = static_cast<float>(low + (high - low) * rng.Uniform());
  return values;
}

struct Case {
  int channels, height, width, kernel, stride, padding, out_channels;

  ConvGeometry Geometry() const {
    return {channels, height, width, kernel, stride, padding, (height + 2 * padding - kernel) / stride + 1,
            (width + 2 * padding - kernel) / stride + 1};
  }
  std::string Name() const {
    return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width) + " k" +
           std::to_string(kernel) + " s" + std::to_string(stride) + " p" + std::to_string(padding) + " -> " +
           std::to_string(out_channels);
  }
};

// Output channel o of `c` with the epilogue's channel first + o, in double, with bounds tests
// instead of padding; also the sum of |terms|, the scale of the rounding error.
void NaiveConv(const Case& c, const std::vector<float>& input, const std::vector<float>& weights,
               const ChannelEpilogue& e, int first, std::vector<double>& out, std::vector<double>& magnitude) {
  const ConvGeometry g = c.Geometry();
  out.assign(int64_t{c.out_channels} * g.OutPixels(), 0);
  magnitude.assign(out.size(), 0);
  for (int o = 0; o < c.out_channels; ++o) {
    for (int oy = 0; oy < g.out_height; ++oy) {
      for (int ox = 0; ox < g.out_width; ++ox) {
        double sum = 0, size = 0;
        for (int ch = 0; ch < c.channels; ++ch) {
          for (int i = 0; i < c.kernel; ++i) {
            for (int j = 0; j < c.kernel; ++j) {
              const int y = oy * c.stride + i - c.padding, x = ox * c.stride + j - c.padding;
              if (y < 0 || y >= c.height || x < 0 || x >= c.width) continue;
              const double term = double{weights[((int64_t{o} * c.channels + ch) * c.kernel + i) * c.kernel + j]} *
                                  input[(int64_t{ch} * c.height + y) * c.width + x];
              sum += term;
              size += std::abs(term);
            }
          }
        }
        const int64_t at = int64_t{o} * g.OutPixels() + oy * g.out_width + ox;
        out[at] = std::min<double>(std::max<double>(sum * e.Scale(first + o) + e.Shift(first + o), e.lower), e.upper);
        magnitude[at] = size * std::abs(e.Scale(first + o)) + std::abs(e.Shift(first + o));
      }
    }
  }
}

void ExpectDirectMatchesNaive(const Case& c, const ChannelEpilogue& e, int first, uint64_t seed) {
  Rng rng(seed);
  const ConvGeometry g = c.Geometry();
  const std::vector<float> input = Random(int64_t{c.channels} * c.height * c.width, rng);
  const std::vector<float> weights = Random(int64_t{c.out_channels} * g.Taps(), rng);
  std::vector<double> expected, magnitude;
  NaiveConv(c, input, weights, e, first, expected, magnitude);
  // Canaries around the output catch writes past its planes.
  std::vector<float> output(expected.size() + 2, 12345.0f);
  DirectConv(g, weights.data(), c.out_channels).Run(input.data(), e, first, output.data() + 1);
  EXPECT_EQ(output.front(), 12345.0f) << c.Name();
  EXPECT_EQ(output.back(), 12345.0f) << c.Name();
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(output[i + 1], expected[i], 1e-6 * (1 + magnitude[i])) << c.Name() << " at " << i;
  }
}

TEST(DirectConv, MatchesNaiveConvolution) {
  const std::vector<Case> cases = {
      {1, 28, 28, 3, 1, 1, 16},  {16, 28, 28, 3, 2, 1, 32}, {32, 14, 14, 3, 2, 1, 64},  // reference net
      {3, 7, 5, 3, 1, 0, 9},     {2, 9, 11, 5, 2, 2, 17},   {5, 6, 6, 1, 1, 0, 8},
      {4, 5, 5, 2, 3, 1, 24},    {3, 1, 1, 1, 1, 0, 40},    {2, 4, 13, 3, 2, 1, 7},
      {1, 3, 3, 3, 1, 2, 33},    {6, 8, 8, 7, 1, 3, 15},    {2, 10, 3, 3, 3, 0, 1},
      {2, 5, 5, 1, 1, 2, 9},     {3, 4, 6, 2, 2, 3, 12},  // padding beyond the kernel
  };
  for (const Case& c : cases) ExpectDirectMatchesNaive(c, {}, 0, 1);
}

TEST(DirectConv, RandomShapes) {
  Rng rng(7);
  auto pick = [&](int low, int high) { return low + static_cast<int>(rng.Uniform() * (high - low + 1)); };
  for (int k = 0; k < 60; ++k) {
    Case c{pick(1, 6), pick(1, 17), pick(1, 17), pick(1, 5), pick(1, 3), 0, pick(1, 40)};
    c.padding = pick(0, c.kernel - 1);
    if (c.height + 2 * c.padding < c.kernel || c.width + 2 * c.padding < c.kernel) continue;
    ExpectDirectMatchesNaive(c, {}, 0, 100 + k);
  }
}

TEST(DirectConv, AppliesTheEpilogueOfItsChannels) {
  Rng rng(3);
  const Case c{3, 9, 9, 3, 2, 1, 20};
  const int first = 4;  // this group's channels start at epilogue channel 4
  ChannelEpilogue affine;
  affine.scale = RandomArray(first + c.out_channels, rng, -2, 2);
  affine.shift = RandomArray(first + c.out_channels, rng, -1, 1);
  ExpectDirectMatchesNaive(c, affine, first, 4);
  ChannelEpilogue relu6 = affine;
  relu6.lower = 0;
  relu6.upper = 0.5f;
  ExpectDirectMatchesNaive(c, relu6, first, 5);
  ChannelEpilogue shift_only;
  shift_only.shift = affine.shift;
  shift_only.lower = -0.2f;
  ExpectDirectMatchesNaive(c, shift_only, first, 6);
}

// The weight gradient summed over `images` images against a naive sum in double.
void ExpectWeightGradientMatchesNaive(const Case& c, int images, uint64_t seed) {
  Rng rng(seed);
  const ConvGeometry g = c.Geometry();
  const int64_t input_size = int64_t{c.channels} * c.height * c.width;
  const int64_t output_size = int64_t{c.out_channels} * g.OutPixels();
  const std::vector<float> inputs = Random(images * input_size, rng);
  const std::vector<float> grads = Random(images * output_size, rng);
  DirectWeightGradient sum(g, c.out_channels);
  for (int n = 0; n < images; ++n) sum.Add(inputs.data() + n * input_size, grads.data() + n * output_size);
  std::vector<float> actual(int64_t{c.out_channels} * g.Taps() + 1, 12345.0f);
  sum.Store(actual.data());
  EXPECT_EQ(actual.back(), 12345.0f) << c.Name();
  for (int o = 0; o < c.out_channels; ++o) {
    for (int ch = 0; ch < c.channels; ++ch) {
      for (int i = 0; i < c.kernel; ++i) {
        for (int j = 0; j < c.kernel; ++j) {
          double expected = 0, magnitude = 0;
          for (int n = 0; n < images; ++n) {
            for (int oy = 0; oy < g.out_height; ++oy) {
              for (int ox = 0; ox < g.out_width; ++ox) {
                const int y = oy * c.stride + i - c.padding, x = ox * c.stride + j - c.padding;
                if (y < 0 || y >= c.height || x < 0 || x >= c.width) continue;
                const double term = double{grads[n * output_size + int64_t{o} * g.OutPixels() + oy * g.out_width + ox]} *
                                    inputs[n * input_size + (int64_t{ch} * c.height + y) * c.width + x];
                expected += term;
                magnitude += std::abs(term);
              }
            }
          }
          const int tap = (ch * c.kernel + i) * c.kernel + j;
          ASSERT_NEAR(actual[int64_t{o} * g.Taps() + tap], expected, 1e-6 * (1 + magnitude))
              << c.Name() << " weight " << o << ", tap " << tap;
        }
      }
    }
  }
}

TEST(DirectWeightGradient, MatchesNaiveSumOverImages) {
  const std::vector<Case> cases = {
      {1, 28, 28, 3, 1, 1, 16}, {16, 14, 14, 3, 2, 1, 32}, {3, 7, 5, 3, 1, 0, 9}, {2, 9, 11, 5, 2, 2, 17},
      {5, 6, 6, 1, 1, 0, 8},    {4, 5, 5, 2, 3, 1, 24},   {3, 1, 1, 1, 1, 0, 40}, {2, 4, 13, 3, 2, 1, 7},
      {2, 5, 5, 1, 1, 2, 9},    {3, 4, 6, 2, 2, 3, 12},
  };
  for (const Case& c : cases) ExpectWeightGradientMatchesNaive(c, 3, 30);
  Rng rng(8);
  auto pick = [&](int low, int high) { return low + static_cast<int>(rng.Uniform() * (high - low + 1)); };
  for (int k = 0; k < 30; ++k) {
    Case c{pick(1, 5), pick(1, 12), pick(1, 12), pick(1, 4), pick(1, 3), 0, pick(1, 35)};
    c.padding = pick(0, c.kernel - 1);
    if (c.height + 2 * c.padding < c.kernel || c.width + 2 * c.padding < c.kernel) continue;
    ExpectWeightGradientMatchesNaive(c, pick(1, 4), 200 + k);
  }
}

// The input gradient of one image against a naive scatter of every product in double.
void ExpectInputGradientMatchesNaive(const Case& c, uint64_t seed) {
  Rng rng(seed);
  const ConvGeometry g = c.Geometry();
  const std::vector<float> weights = Random(int64_t{c.out_channels} * g.Taps(), rng);
  const std::vector<float> grads = Random(int64_t{c.out_channels} * g.OutPixels(), rng);
  const int64_t plane = int64_t{c.height} * c.width;
  std::vector<double> expected(c.channels * plane, 0), magnitude(expected.size(), 0);
  for (int o = 0; o < c.out_channels; ++o) {
    for (int oy = 0; oy < g.out_height; ++oy) {
      for (int ox = 0; ox < g.out_width; ++ox) {
        for (int ch = 0; ch < c.channels; ++ch) {
          for (int i = 0; i < c.kernel; ++i) {
            for (int j = 0; j < c.kernel; ++j) {
              const int y = oy * c.stride + i - c.padding, x = ox * c.stride + j - c.padding;
              if (y < 0 || y >= c.height || x < 0 || x >= c.width) continue;
              const double term = double{weights[int64_t{o} * g.Taps() + (ch * c.kernel + i) * c.kernel + j]} *
                                  grads[int64_t{o} * g.OutPixels() + oy * g.out_width + ox];
              expected[ch * plane + y * c.width + x] += term;
              magnitude[ch * plane + y * c.width + x] += std::abs(term);
            }
          }
        }
      }
    }
  }
  std::vector<float> actual(expected.size() + 2, 12345.0f);
  DirectInputGradient(g, weights.data(), c.out_channels).Run(grads.data(), actual.data() + 1);
  EXPECT_EQ(actual.front(), 12345.0f) << c.Name();
  EXPECT_EQ(actual.back(), 12345.0f) << c.Name();
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(actual[i + 1], expected[i], 1e-6 * (1 + magnitude[i])) << c.Name() << " at " << i;
  }
}

TEST(DirectInputGradient, MatchesNaiveScatter) {
  const std::vector<Case> cases = {
      {16, 28, 28, 3, 2, 1, 32}, {32, 14, 14, 3, 2, 1, 64}, {9, 7, 5, 3, 1, 0, 3},  {17, 9, 11, 5, 2, 2, 2},
      {8, 6, 6, 1, 1, 0, 5},     {24, 5, 5, 2, 3, 1, 4},    {8, 1, 1, 1, 1, 0, 40}, {7, 4, 13, 3, 2, 1, 7},
      {8, 7, 7, 2, 3, 0, 3},     {8, 8, 9, 4, 2, 3, 6},     {12, 10, 3, 1, 2, 0, 5},
      {9, 5, 5, 1, 1, 2, 3},     {16, 4, 6, 2, 2, 3, 4},    {8, 6, 5, 3, 2, 4, 2},
  };
  for (const Case& c : cases) ExpectInputGradientMatchesNaive(c, 40);
  Rng rng(9);
  auto pick = [&](int low, int high) { return low + static_cast<int>(rng.Uniform() * (high - low + 1)); };
  for (int k = 0; k < 40; ++k) {
    Case c{pick(1, 35), pick(1, 13), pick(1, 13), pick(1, 5), pick(1, 4), 0, pick(1, 6)};
    c.padding = pick(0, c.kernel - 1);
    if (c.height + 2 * c.padding < c.kernel || c.width + 2 * c.padding < c.kernel) continue;
    ExpectInputGradientMatchesNaive(c, 300 + k);
  }
}

Tensor RandomTensor(Shape shape, uint64_t seed) {
  Rng rng(seed);
  Tensor t(shape);
  for (auto& v : t.values) v = static_cast<float>(2 * rng.Uniform() - 1);
  return t;
}

void ExpectNear(const Tensor& actual, const Tensor& expected, float tolerance, const std::string& what) {
  ASSERT_EQ(actual.shape, expected.shape) << what;
  for (int64_t i = 0; i < actual.values.size(); ++i) {
    ASSERT_NEAR(actual.values[i], expected.values[i], tolerance * (1 + std::abs(expected.values[i])))
        << what << " at " << i;
  }
}

// A group with at least a register's width of output channels takes the direct kernels, others
// im2col + GEMM; evaluation and training compute the same convolution on both.
TEST(Conv2d, EvaluationAndTrainingForwardsAgree) {
  const int wide = DirectVectorWidth();
  const std::vector<ConvOptions> layers = {
      {.cin = 1, .cout = 2 * wide, .kernel = 3, .stride = 1, .padding = 1},
      {.cin = 6, .cout = 4 * wide + 2, .kernel = 3, .stride = 2, .padding = 1, .groups = 2, .bias = true},
      {.cin = 5, .cout = wide, .kernel = 1, .stride = 1, .padding = 0, .bias = true},
      {.cin = 4, .cout = 4, .kernel = 3, .stride = 1, .padding = 1, .groups = 4},  // depthwise: plane by plane
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    Rng init(i);
    auto conv = MakeConv2d(layers[i], init);
    const Tensor input = RandomTensor({11, layers[i].cin, 9, 7}, 20 + i);
    ExpectNear(conv->Forward(input, Mode::kEval), conv->Forward(input, Mode::kTrain), 1e-5f,
               conv->Describe());
  }
}

// Sets a batch norm's running statistics and affine parameters to random values.
void Randomise(Module& layer, Rng& rng) {
  std::vector<NamedParameter> parameters;
  layer.CollectParameters("", parameters);
  for (auto& p : parameters) {
    const bool variance = p.name == "running_var";
    for (auto& v : p.parameter->value) v = static_cast<float>(variance ? 0.5 + rng.Uniform() : 2 * rng.Uniform() - 1);
  }
}

TEST(Conv2d, EvaluationFusesBatchNormAndClampsLikeTheLayersOneByOne) {
  const int wide = DirectVectorWidth();
  Rng init(9);
  Sequential net;
  net.Add(MakeConv2d({.cin = 3, .cout = 2 * wide, .kernel = 3, .stride = 1, .padding = 1, .bias = true}, init));
  net.Add(MakeBatchNorm(2 * wide));
  net.Add(MakeBatchNorm(2 * wide));  // affine after affine folds too
  net.Add(MakeRelu6());
  net.Add(MakeBatchNorm(2 * wide));  // after a clamp: runs on its own
  net.Add(MakeRelu());
  net.Add(MakeConv2d({.cin = 2 * wide, .cout = 2 * wide, .kernel = 3, .stride = 2, .padding = 1, .groups = 2 * wide}, init));
  net.Add(MakeBatchNorm(2 * wide));  // into the GEMM path of the depthwise conv
  net.Add(MakeRelu());
  net.Add(MakeConv2d({.cin = 2 * wide, .cout = wide, .kernel = 1}, init));
  net.Add(MakeRelu());
  Rng rng(10);
  for (size_t i = 0; i < net.size(); ++i) Randomise(net.at(i), rng);
  const Tensor input = RandomTensor({5, 3, 8, 8}, 11);
  Tensor expected = input;
  for (size_t i = 0; i < net.size(); ++i) expected = net.at(i).Forward(std::move(expected), Mode::kEval);
  ExpectNear(net.Forward(input, Mode::kEval), expected, 1e-5f, "fused network");
  // The fused forward of one layer is its forward followed by the epilogue.
  ChannelEpilogue epilogue;
  epilogue.scale = RandomArray(2 * wide, rng, -2, 2);
  epilogue.lower = -0.1f;
  Module& conv = net.at(0);
  ExpectNear(conv.ForwardWithEpilogue(input, epilogue), conv.Module::ForwardWithEpilogue(input, epilogue), 1e-5f,
             "conv with an epilogue");
}

// Depthwise convs (groups == cin == cout > 1) take their own plane-by-plane kernels: the conv
// layer's forward, weight, bias and input gradients against naive loops in double.
struct DepthwiseCase {
  int channels, height, width, kernel, stride;
  bool bias;
  int images;

  std::string Name() const {
    return std::to_string(images) + "x" + std::to_string(channels) + "x" + std::to_string(height) + "x" +
           std::to_string(width) + " k" + std::to_string(kernel) + " s" + std::to_string(stride) +
           (bias ? " bias" : "");
  }
};

void ExpectDepthwiseMatchesNaive(const DepthwiseCase& c, uint64_t seed) {
  const int k = c.kernel, s = c.stride, p = k / 2, C = c.channels, H = c.height, W = c.width, N = c.images;
  Rng init(seed);
  auto conv = MakeConv2d({.cin = C, .cout = C, .kernel = k, .stride = s, .padding = p, .groups = C, .bias = c.bias},
                         init);
  std::vector<NamedParameter> parameters;
  conv->CollectParameters("", parameters);
  ASSERT_EQ(parameters.size(), c.bias ? 2u : 1u);
  const Eigen::ArrayXf& w = parameters[0].parameter->value;
  ASSERT_EQ(w.size(), int64_t{C} * k * k);
  Eigen::ArrayXf bias = Eigen::ArrayXf::Zero(C);
  if (c.bias) {
    // Non-zero biases: the initialisation draws them in +-1/k.
    bias = parameters[1].parameter->value;
    ASSERT_GT(bias.abs().maxCoeff(), 0.0f);
  }
  const Tensor input = RandomTensor({N, C, H, W}, seed + 1);
  const int oh = (H + 2 * p - k) / s + 1, ow = (W + 2 * p - k) / s + 1;
  const Tensor output = conv->Forward(input, Mode::kTrain);
  ASSERT_EQ(output.shape, (Shape{N, C, oh, ow})) << c.Name();
  auto in = [&](int n, int ch, int y, int x) -> double {
    if (y < 0 || y >= H || x < 0 || x >= W) return 0;
    return input.values[((int64_t{n} * C + ch) * H + y) * W + x];
  };
  for (int n = 0; n < N; ++n) {
    for (int ch = 0; ch < C; ++ch) {
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          double sum = bias[ch], size = std::abs(bias[ch]);
          for (int i = 0; i < k; ++i) {
            for (int j = 0; j < k; ++j) {
              const double term = w[(ch * k + i) * k + j] * in(n, ch, oy * s + i - p, ox * s + j - p);
              sum += term;
              size += std::abs(term);
            }
          }
          const int64_t at = ((int64_t{n} * C + ch) * oh + oy) * ow + ox;
          ASSERT_NEAR(output.values[at], sum, 1e-6 * (1 + size)) << c.Name() << " output " << at;
        }
      }
    }
  }
  // Evaluation computes the same convolution.
  ExpectNear(conv->Forward(input, Mode::kEval), output, 1e-6f, c.Name() + " eval");
  conv->Forward(input, Mode::kTrain);

  const Tensor grad_output = RandomTensor(output.shape, seed + 2);
  for (auto& np : parameters) np.parameter->grad.setZero();
  const Tensor grad_input = conv->Backward(grad_output);
  ASSERT_EQ(grad_input.shape, input.shape) << c.Name();
  auto g = [&](int n, int ch, int oy, int ox) -> double {
    return grad_output.values[((int64_t{n} * C + ch) * oh + oy) * ow + ox];
  };
  for (int ch = 0; ch < C; ++ch) {
    double bias_grad = 0, bias_size = 0;
    for (int n = 0; n < N; ++n) {
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          bias_grad += g(n, ch, oy, ox);
          bias_size += std::abs(g(n, ch, oy, ox));
        }
      }
    }
    if (c.bias) {
      ASSERT_NEAR(parameters[1].parameter->grad[ch], bias_grad, 1e-6 * (1 + bias_size)) << c.Name();
    }
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) {
        double sum = 0, size = 0;
        for (int n = 0; n < N; ++n) {
          for (int oy = 0; oy < oh; ++oy) {
            for (int ox = 0; ox < ow; ++ox) {
              const double term = g(n, ch, oy, ox) * in(n, ch, oy * s + i - p, ox * s + j - p);
              sum += term;
              size += std::abs(term);
            }
          }
        }
        ASSERT_NEAR(parameters[0].parameter->grad[(ch * k + i) * k + j], sum, 1e-6 * (1 + size))
            << c.Name() << " weight grad " << ch << "," << i << "," << j;
      }
    }
  }
  std::vector<double> expected(input.values.size(), 0), magnitude(expected.size(), 0);
  for (int n = 0; n < N; ++n) {
    for (int ch = 0; ch < C; ++ch) {
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          for (int i = 0; i < k; ++i) {
            for (int j = 0; j < k; ++j) {
              const int y = oy * s + i - p, x = ox * s + j - p;
              if (y < 0 || y >= H || x < 0 || x >= W) continue;
              const double term = double{w[(ch * k + i) * k + j]} * g(n, ch, oy, ox);
              const int64_t at = ((int64_t{n} * C + ch) * H + y) * W + x;
              expected[at] += term;
              magnitude[at] += std::abs(term);
            }
          }
        }
      }
    }
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(grad_input.values[i], expected[i], 1e-6 * (1 + magnitude[i])) << c.Name() << " grad input " << i;
  }
  // A second backward adds to the parameter gradients.
  conv->Forward(input, Mode::kTrain);
  const Eigen::ArrayXf once = parameters[0].parameter->grad;
  conv->Backward(grad_output);
  for (int64_t i = 0; i < once.size(); ++i) {
    ASSERT_NEAR(parameters[0].parameter->grad[i], 2 * once[i], 1e-6 * (1 + std::abs(once[i]))) << c.Name();
  }
}

TEST(DepthwiseConv2d, MatchesNaiveLoops) {
  int seed = 500;
  for (int kernel : {3, 5, 7}) {
    for (int stride : {1, 2}) {
      for (const auto& [h, w] : std::vector<std::pair<int, int>>{{7, 9}, {28, 28}, {5, 5}, {9, 7}, {1, 1}}) {
        for (bool bias : {false, true}) {
          // 10 images: two chunks of the batch, one partial.
          ExpectDepthwiseMatchesNaive({3, h, w, kernel, stride, bias, 10}, seed++);
          if (HasFatalFailure()) return;
        }
      }
    }
  }
  // Wider planes and more channels than a register block at stride 1 (the wide layout).
  ExpectDepthwiseMatchesNaive({17, 14, 30, 3, 1, true, 3}, 900);
  ExpectDepthwiseMatchesNaive({16, 7, 7, 7, 1, false, 2}, 901);
  ExpectDepthwiseMatchesNaive({2, 3, 40, 5, 2, true, 1}, 902);
  // Stride 3: nine phase planes; a 1x1 kernel reads only the first.
  ExpectDepthwiseMatchesNaive({3, 11, 10, 5, 3, true, 2}, 903);
  ExpectDepthwiseMatchesNaive({2, 8, 7, 3, 3, false, 2}, 904);
  ExpectDepthwiseMatchesNaive({2, 8, 7, 1, 3, false, 2}, 905);
}

// Stride 1 writes in a "wide" layout over the padded plane and reads up to a register block
// past its end: a buffer of DepthwisePaddedSize with canaries around the output plane.
TEST(DepthwiseConv2d, PlaneKernelsStayInTheirBuffers) {
  Rng rng(77);
  for (const auto& [h, w, k, s] : std::vector<std::tuple<int, int, int, int>>{
           {7, 9, 3, 1}, {28, 28, 7, 1}, {5, 5, 5, 2}, {1, 1, 7, 1}, {13, 3, 3, 2}, {11, 10, 5, 3}}) {
    const int p = k / 2;
    const ConvGeometry g{1, h, w, k, s, p, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1};
    const std::vector<float> plane = Random(int64_t{h} * w, rng), taps = Random(k * k, rng);
    std::vector<float> padded(DepthwisePaddedSize(g), 99.0f);
    PadPlane(plane.data(), g, padded.data());
    for (int64_t i = g.PaddedSize(); i < DepthwisePaddedSize(g); ++i) ASSERT_EQ(padded[i], 0.0f);
    std::vector<float> output(g.OutPixels() + 2, 12345.0f);
    DepthwisePlane(padded.data(), g, taps.data(), output.data() + 1);
    EXPECT_EQ(output.front(), 12345.0f);
    EXPECT_EQ(output.back(), 12345.0f);
    const std::vector<float> grad = Random(g.OutPixels(), rng);
    std::vector<float> grad_plane(int64_t{h} * w + 2, 12345.0f);
    DepthwiseInputGradient(grad.data(), g, taps.data(), grad_plane.data() + 1);
    EXPECT_EQ(grad_plane.front(), 12345.0f);
    EXPECT_EQ(grad_plane.back(), 12345.0f);
    std::vector<float> weight_grad(k * k + 1, 0.0f);
    weight_grad.back() = 12345.0f;
    DepthwiseWeightGradient(padded.data(), grad.data(), g, weight_grad.data());
    EXPECT_EQ(weight_grad.back(), 12345.0f);
  }
}

// A small network with depthwise convs at stride 1 and 2: three SGD steps, parameters and
// outputs bit-identical at 1 and 2 threads.
NetworkSpec DepthwiseSpec() {
  NetworkSpec spec;
  spec.in_channels = 1;
  spec.in_size = 14;
  spec.classes = 5;
  auto add = [&](LayerOp op, int cin, int cout, int kernel, int stride, int groups, int size) {
    spec.layers.push_back({op, cin, cout, kernel, stride, groups, op == LayerOp::kGlobalAvgPool ? 0 : kernel / 2,
                           size, {}});
    return spec.layers.back().HOut();
  };
  int size = add(LayerOp::kConv, 1, 8, 3, 1, 1, 14);
  add(LayerOp::kBatchNorm, 8, 8, 1, 1, 1, size);
  add(LayerOp::kRelu6, 8, 8, 1, 1, 1, size);
  size = add(LayerOp::kConv, 8, 8, 5, 1, 8, size);  // depthwise, stride 1
  add(LayerOp::kBatchNorm, 8, 8, 1, 1, 1, size);
  add(LayerOp::kRelu6, 8, 8, 1, 1, 1, size);
  size = add(LayerOp::kConv, 8, 8, 7, 2, 8, size);  // depthwise, stride 2
  add(LayerOp::kBatchNorm, 8, 8, 1, 1, 1, size);
  size = add(LayerOp::kConv, 8, 12, 1, 1, 1, size);
  add(LayerOp::kGlobalAvgPool, 12, 12, size, 1, 1, size);
  add(LayerOp::kLinear, 12, 5, 1, 1, 1, 1);
  return spec;
}

std::vector<float> TrainDepthwiseNetwork(int threads, Tensor* logits) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  auto net = BuildNetwork(DepthwiseSpec(), 5);
  std::vector<NamedParameter> parameters;
  net->CollectParameters("", parameters);
  auto sgd = MakeSgd(parameters, {.learning_rate = 0.05, .momentum = 0.9, .weight_decay = 1e-4});
  std::vector<int> labels(37);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % 5);
  for (int step = 0; step < 3; ++step) {
    TrainStep(*net, *sgd, RandomTensor({37, 1, 14, 14}, 60 + step), labels);
  }
  *logits = net->Forward(RandomTensor({37, 1, 14, 14}, 70), Mode::kTrain);
  std::vector<float> values;
  for (const auto& p : parameters) values.insert(values.end(), p.parameter->value.begin(), p.parameter->value.end());
  return values;
}

TEST(DepthwiseConv2d, TrainingIsBitIdenticalAtOneAndTwoThreads) {
  Tensor one, two;
  const std::vector<float> at_one = TrainDepthwiseNetwork(1, &one);
  const std::vector<float> at_two = TrainDepthwiseNetwork(2, &two);
  EXPECT_EQ(at_one, at_two);
  ASSERT_EQ(one.shape, two.shape);
  EXPECT_TRUE((one.values == two.values).all());
  EXPECT_TRUE(one.values.isFinite().all());
  // Training moved the weights away from their initialisation.
  auto fresh = BuildNetwork(DepthwiseSpec(), 5);
  std::vector<NamedParameter> parameters;
  fresh->CollectParameters("", parameters);
  std::vector<float> initial;
  for (const auto& p : parameters) initial.insert(initial.end(), p.parameter->value.begin(), p.parameter->value.end());
  EXPECT_NE(initial, at_one);
}

}  // namespace
}  // namespace hwnas
