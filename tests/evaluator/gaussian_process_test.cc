// The Gaussian process behind the `guided` sampler and the `predictor` evaluator, and the rank
// warp of its targets: exact save/load, interpolation with tiny noise, uncertainty that grows
// away from the data, and a warp that inverts and keeps order.
#include "evaluator/gaussian_process.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "evaluator/rank_warp.h"
#include "evaluator/synthetic_inputs.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::kChoices;
using test::kKnobs;
using test::RandomInputs;

// A smooth function of 6 categorical knobs (4 choices each) and 2 numeric features.
double SmoothTarget(const GpInput& x) {
  static const double effect[kKnobs][kChoices] = {{0.0, 1.2, 2.0, 2.3},  {0.0, -0.8, 0.4, 1.1},
                                                  {0.5, 0.0, 1.5, 0.9},  {0.0, 0.3, 0.6, 0.9},
                                                  {-0.4, 0.0, 0.2, 0.7}, {0.0, 0.1, 0.2, 0.3}};
  double y = 0;
  for (int k = 0; k < kKnobs; ++k) y += effect[k][x.categorical[k]];
  y += 0.6 * (x.categorical[0] == x.categorical[1]);
  y += 1.5 * std::sin(2.0 * x.numeric[0]) + 0.8 * x.numeric[1] * x.numeric[1];
  return y;
}

std::vector<double> Targets(const std::vector<GpInput>& inputs) {
  std::vector<double> targets;
  for (const auto& in : inputs) targets.push_back(SmoothTarget(in));
  return targets;
}

double StdDev(const std::vector<double>& values) {
  double mean = 0;
  for (double v : values) mean += v / values.size();
  double variance = 0;
  for (double v : values) variance += (v - mean) * (v - mean) / values.size();
  return std::sqrt(variance);
}

TEST(GaussianProcess, WriteThenReadPredictsBitIdentically) {
  const auto train = RandomInputs(120, 1);
  GaussianProcess gp;
  gp.Fit(train, Targets(train));  // with the hyperparameter search
  std::ostringstream text;
  gp.Write(text);

  GaussianProcess loaded;
  std::istringstream in(text.str());
  ASSERT_TRUE(GaussianProcess::Read(in, loaded));
  ASSERT_TRUE(loaded.fitted());
  EXPECT_EQ(loaded.categorical_size(), 6u);
  EXPECT_EQ(loaded.numeric_size(), 2u);
  EXPECT_EQ(loaded.hyperparameters().theta_categorical, gp.hyperparameters().theta_categorical);
  EXPECT_EQ(loaded.hyperparameters().theta_numeric, gp.hyperparameters().theta_numeric);
  EXPECT_EQ(loaded.hyperparameters().noise, gp.hyperparameters().noise);
  // Held-out inputs, including numeric values outside the training range.
  auto held_out = RandomInputs(200, 2);
  held_out.push_back({{3, 3, 3, 3, 3, 3}, {-7.5, 4.25}});
  for (const auto& x : held_out) {
    const GpPrediction a = gp.Predict(x), b = loaded.Predict(x);
    EXPECT_EQ(a.mean, b.mean);
    EXPECT_EQ(a.stddev, b.stddev);
  }
  // And the read-back model writes the same text again.
  std::ostringstream again;
  loaded.Write(again);
  EXPECT_EQ(again.str(), text.str());
}

TEST(GaussianProcess, WriteThenReadWithoutNumericFeatures) {
  auto train = RandomInputs(30, 3);
  for (auto& in : train) in.numeric.clear();
  std::vector<double> targets;
  for (const auto& in : train) targets.push_back(in.categorical[0] - 0.5 * in.categorical[1]);
  GaussianProcess gp;
  gp.Fit(train, targets);
  EXPECT_EQ(gp.hyperparameters().theta_numeric, 0.0) << "no numeric features, no numeric scale";
  std::ostringstream text;
  gp.Write(text);
  GaussianProcess loaded;
  std::istringstream in(text.str());
  ASSERT_TRUE(GaussianProcess::Read(in, loaded));
  EXPECT_EQ(loaded.numeric_size(), 0u);
  for (int a = 0; a < kChoices; ++a) {
    const GpInput x{{a, 3 - a, 0, 1, 2, 3}, {}};
    EXPECT_EQ(gp.Predict(x).mean, loaded.Predict(x).mean);
    EXPECT_EQ(gp.Predict(x).stddev, loaded.Predict(x).stddev);
  }
}

TEST(GaussianProcess, ReadRefusesMalformedText) {
  const auto train = RandomInputs(10, 4);
  GaussianProcess gp;
  gp.Fit(train, Targets(train));
  std::ostringstream out;
  gp.Write(out);
  const std::string text = out.str();
  auto reads = [](const std::string& t) {
    GaussianProcess g;
    std::istringstream in(t);
    return GaussianProcess::Read(in, g);
  };
  ASSERT_TRUE(reads(text));
  EXPECT_FALSE(reads(""));
  EXPECT_FALSE(reads("sigma" + text.substr(5)));  // "theta" misspelt
  // Cut after every line but the last: the text ends before the scales.
  const auto lines = test::SplitLines(text);
  ASSERT_EQ(lines.size(), 2 + train.size() + 1);
  std::string prefix;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    prefix += lines[i] + "\n";
    EXPECT_FALSE(reads(prefix)) << "accepted the first " << i + 1 << " lines";
  }
  // The last line cut in its middle: a missing scale.
  EXPECT_FALSE(reads(text.substr(0, text.rfind(' '))));
  // Fewer than two points is not a model.
  std::string one_point = text;
  one_point.replace(one_point.find("points 10"), 9, "points 1");
  EXPECT_FALSE(reads(one_point));
}

TEST(GaussianProcess, PosteriorMeanAtTrainingPointsIsTheTargetWithTinyNoise) {
  const auto train = RandomInputs(60, 5);
  const auto targets = Targets(train);
  const GaussianProcess::Hyperparameters tiny{.theta_categorical = 2, .theta_numeric = 1,
                                              .noise = 1e-8};
  GaussianProcess gp;
  gp.Fit(train, targets, &tiny);
  EXPECT_EQ(gp.hyperparameters().noise, 1e-8);
  EXPECT_EQ(gp.hyperparameters().theta_categorical, 2);
  const double scale = StdDev(targets);
  double worst = 0;
  for (size_t i = 0; i < train.size(); ++i) {
    worst = std::max(worst, std::abs(gp.Predict(train[i]).mean - targets[i]) / scale);
  }
  // Measured: 2.6e-8 of the targets' deviation. A GP that smooths (noise 1e-2, as the default)
  // misses by more than 1e-2.
  EXPECT_LT(worst, 1e-5);
}

TEST(GaussianProcess, StddevIsSmallAtTrainingPointsAndLargeFarAway) {
  const auto train = RandomInputs(60, 6);
  const auto targets = Targets(train);
  const double scale = StdDev(targets);
  // Far away: numeric features tens of deviations outside the data (the knobs' choices drawn
  // at random), where the kernel to every training point vanishes.
  std::vector<GpInput> far;
  for (const auto& in : RandomInputs(20, 7)) far.push_back({in.categorical, {40.0, -30.0}});

  const GaussianProcess::Hyperparameters tiny{.theta_categorical = 2, .theta_numeric = 1,
                                              .noise = 1e-6};
  GaussianProcess fixed;
  fixed.Fit(train, targets, &tiny);
  double near_max = 0, far_min = INFINITY;
  for (const auto& x : train) near_max = std::max(near_max, fixed.Predict(x).stddev);
  for (const auto& x : far) far_min = std::min(far_min, fixed.Predict(x).stddev);
  // With noise 1e-6 the deviation at a training point is about sqrt(1e-6) of the prior's
  // (measured: 1.0e-3 of it); far from every point it is the prior's, the targets' deviation
  // (measured: equal to it).
  EXPECT_LT(near_max, 0.01 * scale);
  EXPECT_GT(far_min, 0.9 * scale);

  // The same order with hyperparameters from the likelihood search (measured: 0.42 at most at a
  // training point, 1.48 far away, with noise 0.1).
  GaussianProcess searched;
  searched.Fit(train, targets);
  near_max = 0;
  far_min = INFINITY;
  for (const auto& x : train) near_max = std::max(near_max, searched.Predict(x).stddev);
  for (const auto& x : far) far_min = std::min(far_min, searched.Predict(x).stddev);
  EXPECT_LT(near_max, far_min);
  EXPECT_LT(2 * near_max, far_min);
}

TEST(GaussianProcess, SearchRanksTheWholeGridByLikelihoodAndFixedFitsForgetIt) {
  const auto train = RandomInputs(40, 8);
  const auto targets = Targets(train);
  GaussianProcess gp;
  gp.Fit(train, targets);
  const auto& ranked = gp.searched();
  // 6 categorical x 4 numeric lengthscales x 3 noise levels.
  ASSERT_EQ(ranked.size(), 72u);
  for (size_t g = 1; g < ranked.size(); ++g) {
    EXPECT_GE(ranked[g - 1].log_likelihood, ranked[g].log_likelihood) << g;
  }
  const auto chosen = gp.hyperparameters();
  EXPECT_EQ(ranked[0].hyperparameters.theta_categorical, chosen.theta_categorical);
  EXPECT_EQ(ranked[0].hyperparameters.theta_numeric, chosen.theta_numeric);
  EXPECT_EQ(ranked[0].hyperparameters.noise, chosen.noise);
  // A real spread, not one value repeated: the data prefer some lengthscales to others.
  EXPECT_TRUE(std::isfinite(ranked[0].log_likelihood));
  EXPECT_GT(ranked[0].log_likelihood, ranked.back().log_likelihood);

  gp.Fit(train, targets, &chosen);
  EXPECT_TRUE(gp.searched().empty());
}

TEST(RankWarp, InverseOfForwardReturnsEveryObservedValue) {
  Rng rng(8);
  std::vector<double> values;
  for (int i = 0; i < 300; ++i) values.push_back(100 * std::pow(rng.Uniform(), 3));
  // Ties: some values observed twice or three times.
  for (int i = 0; i < 20; ++i) values.push_back(values[i]);
  for (int i = 0; i < 5; ++i) values.push_back(values[i]);
  const RankWarp warp(values);
  ASSERT_EQ(warp.sorted().size(), values.size());
  ASSERT_TRUE(std::is_sorted(warp.sorted().begin(), warp.sorted().end()));
  for (double v : values) EXPECT_NEAR(warp.Inverse(warp.Forward(v)), v, 1e-9) << v;
}

TEST(RankWarp, ForwardAndInverseAreMonotone) {
  Rng rng(9);
  std::vector<double> values;
  for (int i = 0; i < 100; ++i) values.push_back(10 + 5 * rng.Uniform());
  const RankWarp warp(values);
  const std::vector<double>& sorted = warp.sorted();
  // Forward: strictly increasing over the observed values, and a value between two observed
  // ones scores between theirs.
  for (size_t i = 1; i < sorted.size(); ++i) {
    const double a = warp.Forward(sorted[i - 1]), b = warp.Forward(sorted[i]);
    const double mid = warp.Forward(0.5 * (sorted[i - 1] + sorted[i]));
    EXPECT_LT(a, b);
    EXPECT_GT(mid, a);
    EXPECT_LT(mid, b);
  }
  // Logit of the rank: symmetric around the median.
  EXPECT_NEAR(warp.Forward(sorted.front()), -warp.Forward(sorted.back()), 1e-12);
  // Inverse: strictly increasing over a grid that reaches past both ends (extrapolation), and
  // between the ends it stays within the observed range.
  const double lo = warp.Forward(sorted.front()) - 3, hi = warp.Forward(sorted.back()) + 3;
  double previous = -INFINITY;
  for (int i = 0; i <= 2000; ++i) {
    const double score = lo + (hi - lo) * i / 2000.0;
    const double value = warp.Inverse(score);
    ASSERT_TRUE(std::isfinite(value)) << score;
    EXPECT_GT(value, previous) << score;
    previous = value;
    if (score >= warp.Forward(sorted.front()) && score <= warp.Forward(sorted.back())) {
      EXPECT_GE(value, sorted.front());
      EXPECT_LE(value, sorted.back());
    }
  }
  EXPECT_LT(warp.Inverse(lo), sorted.front());
  EXPECT_GT(warp.Inverse(hi), sorted.back());
}

TEST(RankWarp, TailsKeepTheBodysScaleWhenTheExtremesCluster) {
  // 95 values spread evenly over [10, 20], and the five lowest bunched within 0.004 of 5.
  std::vector<double> values;
  for (int i = 0; i < 95; ++i) values.push_back(10 + 10.0 * i / 94);
  for (int i = 0; i < 5; ++i) values.push_back(5 + 0.001 * i);
  const RankWarp warp(values);
  const std::vector<double>& sorted = warp.sorted();
  // Body slope: quartiles at ranks 25 and 74, values 10 + 10 (r - 5) / 94,
  // scores logit((r + .5) / 100).
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  const double body = (10.0 * 49 / 94) / (logit(74.5 / 100) - logit(25.5 / 100));
  const double low_end = warp.Forward(sorted.front());
  EXPECT_NEAR(warp.Inverse(low_end - 1), sorted.front() - body, 1e-9);
  EXPECT_NEAR(warp.Inverse(low_end - 2.5), sorted.front() - 2.5 * body, 1e-9);
  // The top end of the body is even: its tail keeps the body's slope as well.
  const double high_end = warp.Forward(sorted.back());
  EXPECT_NEAR(warp.Inverse(high_end + 1), sorted.back() + body, 1e-9);

  // Extreme points spread wider than the body: their own, steeper slope is kept.
  for (int i = 0; i < 5; ++i) values[95 + i] = 100.0 * (i + 1);
  const RankWarp spread(values);
  const double extreme = 400 / (logit(99.5 / 100) - logit(95.5 / 100));
  ASSERT_GT(extreme, 2 * body);
  EXPECT_NEAR(spread.Inverse(spread.Forward(500) + 1), 500 + extreme, 1e-9);
}

}  // namespace
}  // namespace hwnas
