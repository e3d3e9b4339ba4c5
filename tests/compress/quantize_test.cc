#include "compress/quantize.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "compress_test_util.h"

namespace hwnas {
namespace {

using test::Distribution;
using test::RandomWeights;

const std::vector<int> kSomeBits = {2, 3, 4, 5, 8, 12, 16};

std::string Describe(const QuantConfig& c) {
  return std::to_string(c.bits) + " bits " +
         (c.scheme == QuantScheme::kAffine ? "affine " : "symmetric ") +
         (c.granularity == QuantGranularity::kPerTensor ? "per tensor" : "per channel") +
         (c.clip == ClipMethod::kMse ? " mse-clipped" : "");
}

std::vector<QuantConfig> AllSchemes(int bits) {
  std::vector<QuantConfig> configs;
  for (auto scheme : {QuantScheme::kAffine, QuantScheme::kSymmetric}) {
    for (auto granularity : {QuantGranularity::kPerTensor, QuantGranularity::kPerChannel}) {
      configs.push_back({.bits = bits, .scheme = scheme, .granularity = granularity});
    }
  }
  return configs;
}

const QuantGrid& GridOfRow(const QuantizedWeights& q, Eigen::Index row) {
  return q.grids[q.grids.size() == 1 ? 0 : row];
}

// Rows on different scales and off-centre, so that per-channel and affine grids differ from
// per-tensor and symmetric ones.
WeightMatrix SkewedWeights() {
  WeightMatrix w = RandomWeights(12, 70, 7);
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    w.row(r) = (w.row(r).array() * (0.1f + r) + 0.3f * r).matrix();
  }
  return w;
}

TEST(CompressQuantize, ErrorIsAtMostHalfAStep) {
  const WeightMatrix w = SkewedWeights();
  for (int bits : kSomeBits) {
    for (const auto& config : AllSchemes(bits)) {
      SCOPED_TRACE(Describe(config));
      const QuantizedWeights q = QuantizeWeights(w, config);
      float worst_share_of_step = 0;
      for (Eigen::Index r = 0; r < w.rows(); ++r) {
        const QuantGrid& g = GridOfRow(q, r);
        // Float rounding of (x - x_min) / s and q * s + x_min: a few ulps of the range's ends.
        const float epsilon = 4 * FLT_EPSILON * (std::abs(g.min) + std::abs(g.max));
        for (Eigen::Index c = 0; c < w.cols(); ++c) {
          const float error = std::abs(w(r, c) - q.values(r, c));
          ASSERT_LE(error, g.scale / 2 + epsilon) << "at " << r << "," << c;
          worst_share_of_step = std::max(worst_share_of_step, error / g.scale);
        }
      }
      // The bound is tight: some value falls nearly half-way between levels.
      EXPECT_GT(worst_share_of_step, 0.45f);
    }
  }
}

TEST(CompressQuantize, AffineFollowsTheMinMaxFormula) {
  const WeightMatrix w = SkewedWeights();
  for (int bits : {2, 4, 8}) {
    const QuantizedWeights q = QuantizeWeights(w, {.bits = bits});
    ASSERT_EQ(q.grids.size(), 1u);
    const double x_min = w.minCoeff(), x_max = w.maxCoeff();
    const double s = (x_max - x_min) / (std::pow(2.0, bits) - 1);
    EXPECT_FLOAT_EQ(q.grids[0].scale, static_cast<float>(s));
    EXPECT_EQ(q.grids[0].min, w.minCoeff());
    EXPECT_EQ(q.grids[0].max, w.maxCoeff());
    for (Eigen::Index i = 0; i < w.size(); ++i) {
      const double expected = std::nearbyint((w.data()[i] - x_min) / s) * s + x_min;
      ASSERT_NEAR(q.values.data()[i], expected, 1e-4 * s) << "bits " << bits << " at " << i;
    }
  }
}

TEST(CompressQuantize, SymmetricGridIsCentredOnAnExactZero) {
  WeightMatrix w = SkewedWeights();
  w(3, 5) = 0;
  for (int bits : kSomeBits) {
    const QuantizedWeights q =
        QuantizeWeights(w, {.bits = bits, .scheme = QuantScheme::kSymmetric});
    const QuantGrid& g = q.grids[0];
    EXPECT_EQ(g.q_max, (1 << (bits - 1)) - 1);
    EXPECT_EQ(g.q_min, -g.q_max);
    EXPECT_EQ(g.max, w.cwiseAbs().maxCoeff());
    EXPECT_EQ(g.min, -g.max);
    EXPECT_EQ(q.values(3, 5), 0.0f);
    // Every value is an integer multiple of the step, within those levels.
    const Eigen::ArrayXXf levels = q.values.array() / g.scale;
    EXPECT_LE((levels - levels.round()).abs().maxCoeff(), 1e-3f);
    EXPECT_LE(levels.abs().maxCoeff(), g.q_max + 1e-3f);
  }
}

TEST(CompressQuantize, MseFallsAsBitsRise) {
  const WeightMatrix w = RandomWeights(64, 256, 11);
  for (const auto& base : AllSchemes(2)) {
    double previous = INFINITY;
    for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
      QuantConfig config = base;
      config.bits = bits;
      SCOPED_TRACE(Describe(config));
      const QuantizedWeights q = QuantizeWeights(w, config);
      const double mse = q.report.mse();
      EXPECT_LE(mse, previous);
      // Past a few bits the error is uniform over a step: MSE = s^2 / 12 (within sampling).
      if (bits >= 5 && config.granularity == QuantGranularity::kPerTensor) {
        const double s = q.grids[0].scale;
        EXPECT_NEAR(mse / (s * s / 12), 1.0, 0.05);
      }
      previous = mse;
    }
  }
}

TEST(CompressQuantize, MseClippingIsNeverWorseThanMinMax) {
  for (auto d : {Distribution::kGaussian, Distribution::kUniform, Distribution::kLaplace,
                 Distribution::kStudentT3, Distribution::kGaussianWithOutliers}) {
    const WeightMatrix w = RandomWeights(16, 512, 21, d);
    for (int bits : {2, 3, 4, 6, 8}) {
      for (auto config : AllSchemes(bits)) {
        SCOPED_TRACE(std::string(test::DistributionName(d)) + " " + Describe(config));
        const double min_max = QuantizeWeights(w, config).report.mse();
        config.clip = ClipMethod::kMse;
        const QuantizedWeights clipped = QuantizeWeights(w, config);
        EXPECT_LE(clipped.report.mse(), min_max);
        // The clipped range lies inside the min-max one.
        const bool per_tensor = config.granularity == QuantGranularity::kPerTensor;
        for (Eigen::Index r = 0; r < w.rows(); ++r) {
          const QuantGrid& g = GridOfRow(clipped, r);
          const float lo = per_tensor ? w.minCoeff() : w.row(r).minCoeff();
          const float hi = per_tensor ? w.maxCoeff() : w.row(r).maxCoeff();
          if (config.scheme == QuantScheme::kAffine) {
            EXPECT_GE(g.min, lo);
            EXPECT_LE(g.max, hi);
          } else {
            EXPECT_LE(g.max, std::max(-lo, hi));
            EXPECT_EQ(g.min, -g.max);
          }
        }
      }
    }
  }
}

TEST(CompressQuantize, MseClippingPaysOffOnHeavyTails) {
  // At 4 bits, one outlier in 500 at 20 sigma stretches a min-max grid so far that most
  // weights share a few levels; clipping it gives most of the resolution back.
  const WeightMatrix w = RandomWeights(16, 512, 5, Distribution::kGaussianWithOutliers);
  const QuantConfig min_max{.bits = 4, .scheme = QuantScheme::kSymmetric};
  QuantConfig clipped = min_max;
  clipped.clip = ClipMethod::kMse;
  EXPECT_LT(QuantizeWeights(w, clipped).report.mse(),
            0.5 * QuantizeWeights(w, min_max).report.mse());
}

TEST(CompressQuantize, MseClippingIsDeterministic) {
  const WeightMatrix w = RandomWeights(8, 300, 3, Distribution::kLaplace);
  const QuantConfig config{
      .bits = 3, .granularity = QuantGranularity::kPerChannel, .clip = ClipMethod::kMse};
  const QuantizedWeights a = QuantizeWeights(w, config), b = QuantizeWeights(w, config);
  EXPECT_EQ(a.values, b.values);
  for (size_t r = 0; r < a.grids.size(); ++r) {
    EXPECT_EQ(a.grids[r].min, b.grids[r].min);
    EXPECT_EQ(a.grids[r].max, b.grids[r].max);
  }
}

TEST(CompressQuantize, PerChannelBeatsPerTensorOnRowsOfDifferentScales) {
  const WeightMatrix w = SkewedWeights();
  for (auto scheme : {QuantScheme::kAffine, QuantScheme::kSymmetric}) {
    const double per_tensor = QuantizeWeights(w, {.bits = 4, .scheme = scheme}).report.mse();
    const double per_channel =
        QuantizeWeights(w,
                        {.bits = 4, .scheme = scheme, .granularity = QuantGranularity::kPerChannel})
            .report.mse();
    EXPECT_LT(per_channel, 0.5 * per_tensor);
  }
}

TEST(CompressQuantize, ReportCountsWhatWasDone) {
  const WeightMatrix w = RandomWeights(10, 20, 4);
  const QuantizedWeights q = QuantizeWeights(w, {.bits = 3, .scheme = QuantScheme::kSymmetric});
  EXPECT_EQ(q.report.params_before, 200);
  EXPECT_EQ(q.report.params_after, 200);
  EXPECT_EQ(q.report.zeros, (q.values.array() == 0).count());
  EXPECT_GT(q.report.zeros, 0);  // 3-bit symmetric: the middle level is 0
  EXPECT_NEAR(q.report.mse(), (w - q.values).squaredNorm() / 200.0, 1e-6);
  EXPECT_NEAR(q.report.kept_energy(), q.values.squaredNorm() / w.squaredNorm(), 1e-6);
}

TEST(CompressQuantize, ZeroWidthRangeIsExact) {
  // Affine: a constant row has x_min == x_max, a grid of one value.
  const WeightMatrix w = WeightMatrix::Constant(3, 4, -0.7f);
  for (auto granularity : {QuantGranularity::kPerTensor, QuantGranularity::kPerChannel}) {
    const QuantizedWeights q = QuantizeWeights(w, {.bits = 4, .granularity = granularity});
    EXPECT_EQ(q.values, w);
    EXPECT_EQ(q.report.mse(), 0);
  }
  // Symmetric: only all zeros has a zero-width range.
  const WeightMatrix zeros = WeightMatrix::Zero(2, 5);
  EXPECT_EQ(QuantizeWeights(zeros, {.scheme = QuantScheme::kSymmetric}).values, zeros);
}

// An activation range that decays by EMA towards a dead layer's zeros ends below FLT_MIN; the
// step's inverse then overflows and 0 x inf made NaN that the next layer refused.
TEST(CompressQuantize, ARangeTooNarrowForFloatStepsActsAsZeroWidth) {
  for (auto scheme : {QuantScheme::kAffine, QuantScheme::kSymmetric}) {
    const QuantGrid g = MakeQuantGrid(0, 1e-39f, 8, scheme);
    EXPECT_EQ(g.scale, 0) << "scheme " << static_cast<int>(scheme);
    Eigen::ArrayXf x(3);
    x << 0, 1e-39f, -1;
    Eigen::ArrayXf x_hat(3);
    FakeQuantize(x, g, x_hat);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(x_hat[i], g.offset) << "value " << i;
  }
}

TEST(CompressQuantize, ValuesOutsideTheGridClampToItsEnds) {
  const QuantGrid g = MakeQuantGrid(-1, 2, 4, QuantScheme::kAffine);
  Eigen::ArrayXf x(4);
  x << -5, -1, 2, 7;
  Eigen::ArrayXf x_hat(4);
  FakeQuantize(x, g, x_hat);
  EXPECT_FLOAT_EQ(x_hat[0], -1);
  EXPECT_FLOAT_EQ(x_hat[1], -1);
  EXPECT_FLOAT_EQ(x_hat[2], 2);
  EXPECT_FLOAT_EQ(x_hat[3], 2);
  FakeQuantize(x, g, x);  // in place
  EXPECT_EQ(x.matrix(), x_hat.matrix());
}

}  // namespace
}  // namespace hwnas
