// The hooks quantization-aware training needs. The forward pass uses x_hat (FakeQuantize,
// FakeQuantizeRows in quantize.h); the backward pass uses the clipped straight-through
// estimator: rounding is taken to have slope 1, so the gradient passes unchanged where x lies
// inside the clipping range, and is zero outside, where clamping makes x_hat constant.
//
// A layer's weights get fresh grids every step (WeightGrids). Activation ranges are unknown
// before training, so an ActivationQuantizer follows each batch's min and max by an
// exponential moving average during training and is frozen for evaluation:
//
//   train:  q.Observe(x);  FakeQuantize(x, q.grid(), y);
//           ...            StraightThroughGradient(x, q.grid(), dy, dx);
//   eval:   q.Freeze();    FakeQuantize(x, q.grid(), y);
#pragma once

#include <span>

#include "compress/quantize.h"
#include "compress/weight_matrix.h"

namespace hwnas {

// gradient = upstream where grid.min <= x <= grid.max, else 0. All three the same size;
// `gradient` may be `upstream` itself.
void StraightThroughGradient(Eigen::Ref<const Eigen::ArrayXf> x, const QuantGrid& grid,
                             Eigen::Ref<const Eigen::ArrayXf> upstream,
                             Eigen::Ref<Eigen::ArrayXf> gradient);

// The same for a weight matrix and the grids FakeQuantizeRows used.
void StraightThroughGradientRows(ConstWeightRef weights, std::span<const QuantGrid> grids,
                                 ConstWeightRef upstream, WeightRef gradient);

// Tracks an activation's clipping range. Not thread-safe: one per layer, observed by its
// forward pass.
class ActivationQuantizer {
 public:
  // `momentum`: the share of the running range kept at each observation, in [0, 1); with 0.9 a
  // batch moves the range a tenth of the way to its own min and max.
  ActivationQuantizer(int bits, QuantScheme scheme = QuantScheme::kAffine, double momentum = 0.9);

  // Moves the range towards x's min and max (the first batch sets it). Once frozen, does
  // nothing, so a training loop may keep calling it.
  void Observe(Eigen::Ref<const Eigen::ArrayXf> x);
  void Freeze() { frozen_ = true; }
  void Unfreeze() { frozen_ = false; }
  // A range saved with a trained model.
  void SetRange(float min, float max);

  bool frozen() const { return frozen_; }
  bool observed() const { return observed_; }
  // The grid over the current range; needs a range (Observe or SetRange).
  QuantGrid grid() const;

 private:
  int bits_;
  QuantScheme scheme_;
  double momentum_;
  bool frozen_ = false;
  bool observed_ = false;
  double min_ = 0, max_ = 0;
};

}  // namespace hwnas
