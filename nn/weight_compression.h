// The compression a conv or linear layer trains under: a pruning mask and fake quantization of
// its weights. The forward pass uses the effective weights, quantize(mask * W); the backward
// pass maps their gradient back to W through the straight-through estimator and the mask, so
// pruned weights get no gradient, no momentum, and stay zero through fine-tuning.
#pragma once

#include <optional>
#include <vector>

#include "compress/mask.h"
#include "compress/quantize.h"
#include "nn/layer.h"

namespace hwnas {

class WeightCompression {
 public:
  // Zeroes the pruned weights now and keeps them zero; nullopt removes the mask.
  void SetMask(std::optional<Mask> mask, Parameter& weight, int rows, int cols);
  void SetQuantization(std::optional<QuantConfig> config) { quantization_ = config; }
  const std::optional<Mask>& mask() const { return mask_; }
  const std::optional<QuantConfig>& quantization() const { return quantization_; }
  bool active() const { return mask_ || quantization_; }

  // Computes the weights the forward pass multiplies by: `weight` itself when nothing is active.
  ConstRowMap Effective(const Parameter& weight, int rows, int cols);
  // The last Effective() result again, for the backward pass.
  ConstRowMap LastEffective(const Parameter& weight, int rows, int cols) const;
  // Turns the gradient w.r.t. the effective weights, in place, into the gradient w.r.t. the
  // stored ones.
  void BackwardInPlace(Eigen::Ref<RowMatrix> gradient) const;

 private:
  std::optional<Mask> mask_;
  std::optional<QuantConfig> quantization_;
  RowMatrix masked_;     // mask * W, the values quantized
  RowMatrix effective_;  // quantize(mask * W)
  std::vector<QuantGrid> grids_;
};

// A layer's weight matrix, its compression, and its name in the network.
struct CompressibleLayer {
  std::string name;  // of its weight parameter, e.g. "3.weight"
  Parameter* weight;
  int rows, cols;  // Cout x (Cin/groups * k * k), or out x in
  WeightCompression* compression;
};

}  // namespace hwnas
