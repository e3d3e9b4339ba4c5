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
  // The network's output does not depend on this layer once a graph compiler folds the
  // multiplications by zero of NB201's `none` edges (TFLite does; eager PyTorch does not).
  bool removable = false;
  // A stable name within the space's largest network (e.g. "s2.b1.dw"), by which a candidate's
  // layer inherits its weights from a supernet and reports what compression did to it. Empty
  // when the space gives none.
  std::string name = "";

  int HOut() const;
  // Multiply-accumulates of one forward pass at batch 1 (comparisons and adds count as one).
  int64_t Macs() const;
  int64_t Params() const;
};

// A layer's look-up key in HW-NAS-Bench's op grammar (data/hw-nas-bench/fbnet_macro.txt), so a
// table measured per op can cost it: "Conv_H32_W32_Cin3_Cout16_kernel3_stride1_group1",
// "AvgP_H4_W4_Cin1504_Cout1504_kernel4_stride1" (a global pool is a pool as wide as its input),
// "FC_Cin1504_Cout100", "BN_H32_W32_Cin16_Cout16". `type` replaces the op's name, e.g.
// "ConvNorm" for a conv that stands for a conv+bn+relu group.
std::string LayerSignature(const Layer& layer, std::string_view type = {});
// One "_<label><value>" field of such a key: SignatureField("Cin", 16) == "_Cin16".
std::string SignatureField(std::string_view label, int value);

// A run of consecutive layers a look-up-table device costs as one entry, keyed by `signature`
// (e.g. an FBNet block measured as a whole). A group may hold no layers: an identity block still
// has its own (measured) entry.
struct LayerGroup {
  std::string signature;
  int first_layer = 0;
  int layer_count = 0;
};

struct NetworkSpec {
  std::string key;  // the candidate's canonical string; table devices and evaluators look it up
  std::vector<int> choices;       // the candidate's knob choices as learned models see them
  std::vector<double> features;   // the space's numeric descriptors, for learned models
  int in_channels = 0;
  int in_size = 0;  // input height = width
  int classes = 0;
  std::vector<Layer> layers;
  // Runs of layers a look-up-table device costs as one entry; empty = every layer alone. In
  // layer order, non-overlapping; layers outside every group are costed alone.
  std::vector<LayerGroup> groups;

  int64_t Macs() const;
  int64_t Params() const;
  // Every layer float, dense and full-rank.
  bool IsUncompressed() const;
  // What a look-up-table device sums, in network order: the groups, and every layer outside
  // them as a group of one keyed by its LayerSignature.
  std::vector<LayerGroup> CostEntries() const;
};

}  // namespace hwnas
