// A module of the training engine (a layer or a container of layers): forward, backward, and
// the parameters it owns.
//
// Forward takes its input by value so a layer keeps what its backward pass needs without a
// copy; callers std::move activations through. Backward returns the gradient with respect to
// the input of the last Forward and adds parameter gradients to Parameter::grad.
//
// Work inside a layer runs in parallel over fixed chunks of the batch (nn/batch_chunks.h), so
// every floating-point sum has the same order at any thread count: training is bit-identical
// with 1 or 16 threads.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "nn/tensor.h"

namespace hwnas {

class Rng;
struct CompressibleLayer;

struct Parameter {
  std::vector<int> shape;
  Eigen::ArrayXf value;
  Eigen::ArrayXf grad;
  bool trainable = true;  // false: running statistics, saved with the weights but not optimised
  bool decay = true;      // weight decay applies (not to biases and norm scales)

  Parameter(std::vector<int> dims, bool is_trainable = true, bool has_decay = true);
};

struct NamedParameter {
  std::string name;  // e.g. "3.body.0.weight": unique in a network, the key in weight files
  Parameter* parameter;
};

enum class Mode { kTrain, kEval };

// y = min(max(x * scale[c] + shift[c], lower), upper) per channel c: what an evaluation-mode
// batch norm and a following ReLU or ReLU6 reduce to. Empty scale or shift: 1 or 0.
struct ChannelEpilogue {
  Eigen::ArrayXf scale, shift;
  float lower = -std::numeric_limits<float>::infinity();
  float upper = std::numeric_limits<float>::infinity();

  float Scale(int c) const { return scale.size() ? scale[c] : 1.0f; }
  float Shift(int c) const { return shift.size() ? shift[c] : 0.0f; }
  bool Clamps() const { return lower != -std::numeric_limits<float>::infinity() ||
                               upper != std::numeric_limits<float>::infinity(); }
  bool IsIdentity() const { return scale.size() == 0 && shift.size() == 0 && !Clamps(); }
  // Adds `bias` to x before this epilogue's map.
  void AddBefore(const Eigen::ArrayXf& bias);
  // Applies it to `channels` planes of `pixels` values, the first being channel `first`.
  void Apply(float* planes, int first, int channels, int pixels) const;
};

class Module {
 public:
  virtual ~Module() = default;

  virtual Tensor Forward(Tensor input, Mode mode) = 0;
  virtual Tensor Backward(Tensor grad_output) = 0;
  // Appends this layer's parameters, their names prefixed by `prefix`.
  virtual void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out);
  // Appends the weight matrices compression can act on (conv, linear), named as above.
  virtual void CollectCompressible(const std::string& prefix, std::vector<CompressibleLayer>& out);
  // One line, e.g. "conv 16->32 k3 s2 p1".
  virtual std::string Describe() const = 0;
  // Batch-norm recalibration: running statistics start over and become the plain average of
  // the training-mode batches that follow (PyTorch's momentum=None), as a network whose layers
  // were cut from a larger one needs before it is evaluated.
  virtual void ResetRunningStatistics() {}

  // Evaluation-mode fusion (Sequential uses it): a layer that writes its output channel by
  // channel can take the per-channel maps after it (batch norm, ReLU) as an epilogue and save
  // their passes over memory.
  virtual bool TakesEpilogue() const { return false; }
  // Forward(input, Mode::kEval) followed by `epilogue`.
  virtual Tensor ForwardWithEpilogue(Tensor input, const ChannelEpilogue& epilogue);
  // If this layer's evaluation-mode effect can follow `epilogue` within one, makes it do so and
  // returns true.
  virtual bool AppendToEpilogue(ChannelEpilogue& /*epilogue*/) const { return false; }

  // A network's first layer: nothing uses its input gradient, so Backward may skip it and
  // return an empty tensor.
  void set_input_gradient(bool needed) { input_gradient_ = needed; }

 protected:
  bool input_gradient_ = true;
};

struct ConvOptions {
  int cin = 0;
  int cout = 0;
  int kernel = 3;
  int stride = 1;
  int padding = 0;
  int groups = 1;  // groups == cin == cout is depthwise
  bool bias = false;
};

// Weights (and biases) uniform in +-1/sqrt(fan_in), as PyTorch initialises them by default.
std::unique_ptr<Module> MakeConv2d(const ConvOptions& options, Rng& init);
std::unique_ptr<Module> MakeLinear(int in_features, int out_features, Rng& init);
// Batch statistics in training, running statistics (updated with `momentum`) in evaluation.
std::unique_ptr<Module> MakeBatchNorm(int channels, float momentum = 0.1f, float epsilon = 1e-5f);
std::unique_ptr<Module> MakeRelu();
std::unique_ptr<Module> MakeRelu6();
// Average pooling divides by the number of in-bounds inputs (count_include_pad = false).
std::unique_ptr<Module> MakeAvgPool(int kernel, int stride, int padding);
std::unique_ptr<Module> MakeMaxPool(int kernel, int stride, int padding);
std::unique_ptr<Module> MakeGlobalAvgPool();
std::unique_ptr<Module> MakeFlatten();
// Fake-quantizes its input to `bits` (2..16) over a range tracked by EMA in training and
// frozen in evaluation; gradients pass by the clipped straight-through estimator.
std::unique_ptr<Module> MakeActivationQuantizer(int bits);
// Inverted dropout; the mask of the k-th training forward comes from Rng(seed).Fork(k).
std::unique_ptr<Module> MakeDropout(float rate, uint64_t seed);

}  // namespace hwnas
