#include "compress/fake_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "compress_test_util.h"

namespace hwnas {
namespace {

using test::RandomWeights;

Eigen::ArrayXf Uniform(Eigen::Index n, float lo, float hi, Rng& rng) {
  Eigen::ArrayXf x(n);
  for (auto& v : x) v = lo + (hi - lo) * static_cast<float>(rng.Uniform());
  return x;
}

// Inputs on both sides of [-1, 2], the two ends among them.
Eigen::ArrayXf Straddling() {
  Eigen::ArrayXf x = Eigen::ArrayXf::LinSpaced(141, -3.03f, 4.03f);
  x[0] = -1;
  x[1] = 2;
  return x;
}

TEST(CompressStraightThrough, GradientIsTheSlopeOfTheClampItStandsFor) {
  const QuantGrid grid = MakeQuantGrid(-1, 2, 4, QuantScheme::kAffine);
  const Eigen::ArrayXf x = Straddling();
  Rng rng(1);
  const Eigen::ArrayXf upstream = Uniform(x.size(), -1, 1, rng);
  Eigen::ArrayXf gradient(x.size());
  StraightThroughGradient(x, grid, upstream, gradient);
  auto clamp = [&](double v) { return std::clamp(v, -1.0, 2.0); };
  int inside = 0, outside = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    SCOPED_TRACE(x[i]);
    if (x[i] == -1 || x[i] == 2) {
      EXPECT_EQ(gradient[i], upstream[i]);  // the range is closed
      continue;
    }
    const double h = 1e-3;  // every other input is over 0.01 from the ends
    const double slope = (clamp(x[i] + h) - clamp(x[i] - h)) / (2 * h);
    EXPECT_NEAR(gradient[i], upstream[i] * slope, 1e-6);
    EXPECT_EQ(gradient[i], slope > 0.5 ? upstream[i] : 0.0f);
    (slope > 0.5 ? inside : outside)++;
  }
  EXPECT_GT(inside, 40);
  EXPECT_GT(outside, 40);
}

TEST(CompressStraightThrough, QuantizerFollowsSlopeOneOverSeveralSteps) {
  // What justifies the estimator: over a span of many steps x_hat rises like x inside the
  // range (within a step over the span), and is flat outside.
  const QuantGrid grid = MakeQuantGrid(-1, 2, 5, QuantScheme::kAffine);
  const float h = 8 * grid.scale;
  const Eigen::ArrayXf x = Straddling();
  Eigen::ArrayXf above(x.size()), below(x.size());
  FakeQuantize(x + h, grid, above);
  FakeQuantize(x - h, grid, below);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const float slope = (above[i] - below[i]) / (2 * h);
    if (x[i] - h > grid.min && x[i] + h < grid.max) {
      EXPECT_NEAR(slope, 1, grid.scale / (2 * h) + 1e-5) << x[i];
    } else if (x[i] + h < grid.min || x[i] - h > grid.max) {
      EXPECT_EQ(slope, 0) << x[i];
    }
  }
}

TEST(CompressStraightThrough, WeightRowsUseTheirOwnClippingRange) {
  // 2-bit MSE-clipped grids per channel clip the tails of heavy-tailed rows.
  const WeightMatrix w = RandomWeights(8, 200, 2, test::Distribution::kStudentT3);
  const auto grids = WeightGrids(
      w, {.bits = 2, .granularity = QuantGranularity::kPerChannel, .clip = ClipMethod::kMse});
  const WeightMatrix upstream = RandomWeights(8, 200, 3);
  WeightMatrix gradient(8, 200);
  StraightThroughGradientRows(w, grids, upstream, gradient);
  int64_t clipped = 0;
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    for (Eigen::Index c = 0; c < w.cols(); ++c) {
      const bool inside = w(r, c) >= grids[r].min && w(r, c) <= grids[r].max;
      EXPECT_EQ(gradient(r, c), inside ? upstream(r, c) : 0.0f);
      clipped += !inside;
    }
  }
  EXPECT_GT(clipped, 0);
  EXPECT_LT(clipped, w.size() / 2);

  // In place, on the upstream buffer.
  WeightMatrix in_place = upstream;
  StraightThroughGradientRows(w, grids, in_place, in_place);
  EXPECT_EQ(in_place, gradient);
}

TEST(CompressActivationQuantizer, FirstBatchSetsTheRangeLaterOnesMoveItByMomentum) {
  ActivationQuantizer q(8, QuantScheme::kAffine, 0.75);
  EXPECT_FALSE(q.observed());
  Eigen::ArrayXf first(3), second(3);
  first << -2, 0, 5;
  second << -1, 1, 0;
  q.Observe(first);
  EXPECT_EQ(q.grid().min, -2);
  EXPECT_EQ(q.grid().max, 5);
  q.Observe(second);
  EXPECT_FLOAT_EQ(q.grid().min, 0.75f * -2 + 0.25f * -1);
  EXPECT_FLOAT_EQ(q.grid().max, 0.75f * 5 + 0.25f * 1);
  EXPECT_FLOAT_EQ(q.grid().scale, (q.grid().max - q.grid().min) / 255);
}

TEST(CompressActivationQuantizer, EmaConvergesToAStationaryRangeAndFreezeHoldsIt) {
  ActivationQuantizer q(8, QuantScheme::kAffine, 0.9);
  Rng rng(7);
  q.Observe(Uniform(4096, -10, 10, rng));  // a start far from the stream's range
  for (int batch = 0; batch < 300; ++batch) q.Observe(Uniform(4096, -1, 3, rng));
  // A batch of 4096 reaches within about 4/4096 of the true ends.
  EXPECT_NEAR(q.grid().min, -1, 0.01);
  EXPECT_NEAR(q.grid().max, 3, 0.01);

  q.Freeze();
  EXPECT_TRUE(q.frozen());
  const QuantGrid frozen = q.grid();
  for (int batch = 0; batch < 50; ++batch) q.Observe(Uniform(4096, -5, 5, rng));
  EXPECT_EQ(q.grid().min, frozen.min);
  EXPECT_EQ(q.grid().max, frozen.max);
  EXPECT_EQ(q.grid().scale, frozen.scale);

  q.Unfreeze();
  q.Observe(Uniform(4096, -5, 5, rng));
  EXPECT_LT(q.grid().min, frozen.min - 0.3);
  EXPECT_GT(q.grid().max, frozen.max + 0.1);
}

TEST(CompressActivationQuantizer, SetRangeRestoresASavedRange) {
  ActivationQuantizer q(4, QuantScheme::kSymmetric);
  q.SetRange(-0.5f, 3);
  const QuantGrid g = q.grid();
  EXPECT_EQ(g.min, -3);
  EXPECT_EQ(g.max, 3);
  EXPECT_FLOAT_EQ(g.scale, 3.0f / 7);
}

}  // namespace
}  // namespace hwnas
