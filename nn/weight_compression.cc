#include "nn/weight_compression.h"

#include "compress/fake_quant.h"
#include "core/errors.h"

namespace hwnas {

void WeightCompression::SetMask(std::optional<Mask> mask, Parameter& weight, int rows, int cols) {
  if (mask) {
    HWNAS_CHECK(mask->rows() == rows && mask->cols() == cols);
    mask->Apply(RowMap(weight.value.data(), rows, cols));
  }
  mask_ = std::move(mask);
}

ConstRowMap WeightCompression::Effective(const Parameter& weight, int rows, int cols) {
  const ConstRowMap stored(weight.value.data(), rows, cols);
  if (!active()) return stored;
  masked_ = stored;
  if (mask_) mask_->Apply(masked_);
  if (!quantization_) return ConstRowMap(masked_.data(), rows, cols);
  grids_ = WeightGrids(masked_, *quantization_);
  effective_.resize(rows, cols);
  FakeQuantizeRows(masked_, grids_, effective_);
  return ConstRowMap(effective_.data(), rows, cols);
}

ConstRowMap WeightCompression::LastEffective(const Parameter& weight, int rows, int cols) const {
  if (quantization_) return ConstRowMap(effective_.data(), rows, cols);
  if (mask_) return ConstRowMap(masked_.data(), rows, cols);
  return ConstRowMap(weight.value.data(), rows, cols);
}

void WeightCompression::BackwardInPlace(Eigen::Ref<RowMatrix> gradient) const {
  if (quantization_) StraightThroughGradientRows(masked_, grids_, gradient, gradient);
  if (mask_) mask_->ApplyToGradient(gradient);
}

}  // namespace hwnas
