// What one compression technique did to a layer's weights, in the same figures for every
// technique so that quantization, pruning and low rank can be compared and logged alike.
// Everything is measured in the layer's original shape (removed channels count as zeros), and
// sums rather than means are stored, so reports of several layers add up (global pruning).
#pragma once

#include <cstdint>

#include "compress/weight_matrix.h"

namespace hwnas {

struct CompressionReport {
  int64_t params_before = 0;  // weights stored before
  int64_t params_after = 0;   // weights stored after: non-zeros if pruned, factor sizes if low rank
  int64_t zeros = 0;          // exact zeros among the compressed weights
  double squared_error = 0;   // sum of (w - w_compressed)^2
  double energy_before = 0;   // sum of w^2
  double energy_after = 0;    // sum of w_compressed^2

  double mse() const { return params_before ? squared_error / params_before : 0; }
  double sparsity() const { return params_before ? static_cast<double>(zeros) / params_before : 0; }
  double kept_energy() const { return energy_before > 0 ? energy_after / energy_before : 1; }

  CompressionReport& operator+=(const CompressionReport& other);
};

// The report of replacing `original` by `compressed` (same shape), storing `params_after`.
CompressionReport CompareWeights(ConstWeightRef original, ConstWeightRef compressed,
                                 int64_t params_after);
// The report of zeroing `weights` where `keep` (same shape) is 0, storing the non-zeros left.
CompressionReport MaskedWeightsReport(ConstWeightRef weights, ConstWeightRef keep);

}  // namespace hwnas
