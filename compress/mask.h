// A pruning mask that keeps a layer's pruned weights at zero through fine-tuning. Apply it to
// the weights after every optimizer step and to the gradient before it: with the gradient
// masked, momentum and Adam moments never build up on pruned weights, and re-applying to the
// weights removes whatever weight decay or a stale momentum buffer moved there.
#pragma once

#include <cstdint>

#include "compress/weight_matrix.h"

namespace hwnas {

class Mask {
 public:
  // `keep` holds 1 where a weight stays and 0 where it is pruned; anything else is an error.
  explicit Mask(WeightMatrix keep);

  // Zeroes the pruned entries of `weights` (the mask's shape).
  void Apply(WeightRef weights) const { ZeroPruned(weights, "weights"); }
  // The same for a gradient, so that an optimizer step leaves pruned weights alone.
  void ApplyToGradient(WeightRef gradient) const { ZeroPruned(gradient, "gradient"); }

  const WeightMatrix& keep() const { return keep_; }
  Eigen::Index rows() const { return keep_.rows(); }
  Eigen::Index cols() const { return keep_.cols(); }
  int64_t pruned() const;
  double sparsity() const { return static_cast<double>(pruned()) / keep_.size(); }

 private:
  void ZeroPruned(WeightRef values, const char* name) const;

  // Floats, not bools: applying is then one vectorised multiply.
  WeightMatrix keep_;
};

}  // namespace hwnas
