#include "compress/fake_quant.h"

#include <tbb/parallel_for.h>

#include "compress/checks.h"
#include "core/errors.h"

namespace hwnas {

namespace {

constexpr const char* kWhat = "fake quantization";

void PassInsideRange(const float* x, const float* upstream, Eigen::Index n, const QuantGrid& grid,
                     float* gradient) {
  const Eigen::Map<const Eigen::ArrayXf> values(x, n);
  Eigen::Map<Eigen::ArrayXf>(gradient, n) =
      (values >= grid.min && values <= grid.max)
          .select(Eigen::Map<const Eigen::ArrayXf>(upstream, n), 0.0f);
}

}  // namespace

void StraightThroughGradient(Eigen::Ref<const Eigen::ArrayXf> x, const QuantGrid& grid,
                             Eigen::Ref<const Eigen::ArrayXf> upstream,
                             Eigen::Ref<Eigen::ArrayXf> gradient) {
  compress_checks::CheckShape(kWhat, "upstream gradient", upstream.size(), 1, x.size(), 1,
                              "the size of x");
  compress_checks::CheckShape(kWhat, "gradient", gradient.size(), 1, x.size(), 1, "the size of x");
  PassInsideRange(x.data(), upstream.data(), x.size(), grid, gradient.data());
}

void StraightThroughGradientRows(ConstWeightRef weights, std::span<const QuantGrid> grids,
                                 ConstWeightRef upstream, WeightRef gradient) {
  compress_checks::CheckGridCount(kWhat, grids.size(), weights.rows());
  compress_checks::CheckShape(kWhat, "upstream gradient", upstream.rows(), upstream.cols(),
                              weights.rows(), weights.cols(), "the weights' shape");
  compress_checks::CheckShape(kWhat, "gradient", gradient.rows(), gradient.cols(), weights.rows(),
                              weights.cols(), "the weights' shape");
  tbb::parallel_for(Eigen::Index{0}, weights.rows(), [&](Eigen::Index r) {
    PassInsideRange(weights.row(r).data(), upstream.row(r).data(), weights.cols(),
                    grids[grids.size() == 1 ? 0 : r], gradient.row(r).data());
  });
}

ActivationQuantizer::ActivationQuantizer(int bits, QuantScheme scheme, double momentum)
    : bits_(bits), scheme_(scheme), momentum_(momentum) {
  compress_checks::CheckInRange(kWhat, "bits", bits, kMinQuantBits, kMaxQuantBits);
  compress_checks::CheckShare(kWhat, "momentum", momentum);
}

void ActivationQuantizer::Observe(Eigen::Ref<const Eigen::ArrayXf> x) {
  if (frozen_) return;
  compress_checks::CheckNotEmpty(kWhat, "activations", x.size(), 1);
  // A NaN carries into the range, and grid() reports it.
  const double batch_min = x.minCoeff<Eigen::PropagateNaN>();
  const double batch_max = x.maxCoeff<Eigen::PropagateNaN>();
  if (!observed_) {
    min_ = batch_min;
    max_ = batch_max;
    observed_ = true;
    return;
  }
  min_ = momentum_ * min_ + (1 - momentum_) * batch_min;
  max_ = momentum_ * max_ + (1 - momentum_) * batch_max;
}

void ActivationQuantizer::SetRange(float min, float max) {
  MakeQuantGrid(min, max, bits_, scheme_);  // checks min <= max
  min_ = min;
  max_ = max;
  observed_ = true;
}

QuantGrid ActivationQuantizer::grid() const {
  if (!observed_) {
    throw ConfigError(std::string(kWhat) +
                      ": the activation range is unknown; Observe a training batch (or "
                      "SetRange from a saved model) before quantizing");
  }
  return MakeQuantGrid(static_cast<float>(min_), static_cast<float>(max_), bits_, scheme_);
}

}  // namespace hwnas
