// The concrete layer list a candidate expands to: what an evaluator builds and what a device
// model costs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer_policy.h"

namespace hwnas {

enum class LayerOp {
  kConv, kLinear, kAvgPool, kMaxPool, kGlobalAvgPool, kAdd, kBatchNorm, kRelu, kRelu6
};

std::string_view LayerOpName(LayerOp op);

struct Layer {
  LayerOp op = LayerOp::kConv;
  int cin = 0;
  int cout = 0;
  int kernel = 1;
  int stride = 1;
  int groups = 1;
  int padding = 0;
  int h_in = 1;  // input height = width
  LayerPolicy policy;
  // kAdd of a residual block: the index of the block's first layer, whose input is added to
  // this layer's input. -1 when the add is not a trainable residual (a cell's node sum).
  int residual_from = -1;

  int HOut() const;
  // Multiply-accumulates of one forward pass at batch 1 (comparisons and adds count as one).
  int64_t Macs() const;
  int64_t Params() const;
};

struct NetworkSpec {
  std::string key;  // the candidate's canonical string; table devices and evaluators look it up
  std::vector<int> choices;       // the candidate's knob choices, for learned models
  std::vector<double> features;   // the space's numeric descriptors, for learned models
  int in_channels = 0;
  int in_size = 0;  // input height = width
  int classes = 0;
  std::vector<Layer> layers;

  int64_t Macs() const;
  int64_t Params() const;
};

}  // namespace hwnas
