// Pruning: which weights of a Cout x (Cin*k*k) weight matrix become zero.
//
//   magnitude  exactly round(sparsity * n) weights of least |w| are pruned, in one layer or
//              across several (global: one threshold for all, so layers lose different shares)
//   N:M        each row is cut into groups of M consecutive weights along its input dimension;
//              each group keeps its N largest |w|. A row whose length is not a multiple of M
//              ends in a shorter group, treated as if zero-padded to M (as sparse kernels pad
//              it): it keeps its min(N, length) largest, so no group holds more than N
//   channel    the output channels (rows) of least L1 norm are removed outright, and the next
//              layer's matching input columns with them (ShrinkInputChannels)
//
// Ties in magnitude are broken by position, the earlier weight (row-major order, earlier layer
// first) counting as the smaller, so a mask depends on the weights alone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "compress/compression_report.h"
#include "compress/mask.h"
#include "compress/weight_matrix.h"

namespace hwnas {

struct PruneResult {
  Mask mask;
  CompressionReport report;  // of applying the mask to the weights
};

// sparsity in [0, 1).
PruneResult MagnitudePrune(ConstWeightRef weights, double sparsity);
// One result per layer; their reports add up to exactly round(sparsity * total) zeros.
std::vector<PruneResult> GlobalMagnitudePrune(std::span<const ConstWeightRef> layers,
                                              double sparsity);

// 1 <= n <= m.
PruneResult NofMPrune(ConstWeightRef weights, int n, int m);

struct ChannelPruneResult {
  std::vector<int> kept;     // surviving output channels, ascending; bias(kept) shrinks a bias
  WeightMatrix weights;      // their rows
  CompressionReport report;  // removed rows count as zeros of the original shape
};

// Removes round(sparsity * Cout) output channels, but always keeps one: a layer with no
// outputs would cut the network in two.
ChannelPruneResult ChannelPrune(ConstWeightRef weights, double sparsity);

// The next layer's weights (Cout' x (Cin*k*k)) with only the input channels in `kept`: their
// `kernel_area` (k*k) columns each. For a linear layer after a flatten of C x H x W maps,
// kernel_area is H*W.
WeightMatrix ShrinkInputChannels(ConstWeightRef next_weights, std::span<const int> kept,
                                 int kernel_area);

// Gradual pruning (Zhu & Gupta 2017): the target sparsity rises from s_i to s_f over n pruning
// steps dt optimizer steps apart, starting at t0, fast at first while the network has the most
// redundancy and slowly at the end:
//   s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3,  s_i before t0 and s_f after t0 + n dt.
// Re-pruning the masked weights with MagnitudePrune(s_t) at each pruning step only adds zeros:
// the weights already pruned are the smallest.
class CubicSparsitySchedule {
 public:
  struct Options {
    double initial_sparsity = 0;  // s_i, in [0, final_sparsity]
    double final_sparsity = 0.9;  // s_f, in [0, 1)
    int64_t start_step = 0;       // t0
    int64_t pruning_steps = 10;   // n
    int64_t interval = 100;       // dt
  };

  explicit CubicSparsitySchedule(const Options& options);

  double SparsityAt(int64_t step) const;
  // t0, t0 + dt, ..., t0 + n dt: the steps at which to prune again.
  bool IsPruningStep(int64_t step) const;

 private:
  Options options_;
};

}  // namespace hwnas
