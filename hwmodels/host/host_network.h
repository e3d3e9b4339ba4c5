// A NetworkSpec run on this machine to be timed: every conv and linear layer at its own
// precision (fp32 in the nn engine in eval mode, int8 in oneDNN), and the conversions between
// precisions as steps of their own, since a deployment pays them too. Weights, batch-norm
// statistics and the input are random from a seed; the int8 scales come from a float pass over
// that input, as post-training quantization calibrates them.
//
// Steps: a conv or linear layer with the batch norm and ReLU right after it is one step (oneDNN
// fuses them into the int8 kernel; the nn engine runs the three modules in turn). An add of two
// int8 tensors runs at int8 in oneDNN; other adds and global pooling run in fp32 in the nn
// engine, an int8 or bf16 tensor dequantized before them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/network_spec.h"
#include "nn/tensor.h"

namespace hwnas {

enum class HostPrecision { kFp32, kInt8, kBf16 };

std::string_view HostPrecisionName(HostPrecision precision);

// What the host runs layer `index` at: int8 for 8-bit weights and activations, fp32 for float
// layers of the default or fp32 format. Throws UnsupportedError naming the layer for anything
// else: bf16 (oneDNN 2.6 has bf16 kernels only with AVX-512), fp16 and tf32, other bit widths,
// sparse or low-rank layers (the host runs dense kernels only).
HostPrecision HostLayerPrecision(const Layer& layer, size_t index);

// What this host runs of a compressed network: layers of 8 bits or fewer (weights or
// activations) in int8, the others in fp32; a low rank as its two factor layers; pruned weights
// in the same dense kernels (there are no sparse kernels here), so sparsity saves nothing.
NetworkSpec HostDeployable(const NetworkSpec& spec);

struct TimingOptions {
  int warmups = 10;
  int reps = 100;
};

struct Timing {
  double median_us = 0.0;
  double min_us = 0.0;
  double max_us = 0.0;
  int reps = 0;
  int warmups = 0;
};

// Runs `run` warmups + reps times and times each of the last reps alone (steady_clock).
// `prepare` runs before every call, outside the timed span.
Timing TimeRepeated(const TimingOptions& options, const std::function<void()>& run,
                    const std::function<void()>& prepare = {});

struct HostStep {
  int first_layer = 0;
  int layer_count = 1;
  std::string kind;  // conv | linear | add | gap | quantize | dequantize | the op's name
  HostPrecision precision = HostPrecision::kFp32;
  std::string implementation;  // "nn engine", or the oneDNN kernel, e.g. "jit_uni_int8:avx2"
};

class HostNetwork {
 public:
  // Builds every module, primitive and int8 weight once for `batch` images.
  HostNetwork(const NetworkSpec& spec, int batch, uint64_t seed);
  ~HostNetwork();
  HostNetwork(const HostNetwork&) = delete;
  HostNetwork& operator=(const HostNetwork&) = delete;

  // One pass over the input; the output as floats.
  Tensor Forward();
  const Tensor& input() const;

  const std::vector<HostStep>& steps() const;
  Timing TimeForward(const TimingOptions& options);
  // Step i alone, on what it gets in a forward pass (already in its precision).
  Timing TimeStep(size_t i, const TimingOptions& options);
  // Every step timed inside whole forward passes: its input just written by the step before,
  // its weights as cold as the rest of the pass leaves them.
  std::vector<Timing> TimeStepsInPass(const TimingOptions& options);

 private:
  struct Impl;
  class Planner;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hwnas
