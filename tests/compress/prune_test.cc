#include "compress/prune.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "compress_test_util.h"

namespace hwnas {
namespace {

using test::RandomWeights;

WeightMatrix Applied(const WeightMatrix& w, const Mask& mask) {
  WeightMatrix out = w;
  mask.Apply(out);
  return out;
}

// Largest pruned and smallest kept |w| over the given layers and masks.
struct Split {
  float largest_pruned = 0;
  float smallest_kept = INFINITY;
};

Split MagnitudeSplit(const std::vector<const WeightMatrix*>& layers,
                     const std::vector<PruneResult>& results) {
  Split split;
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto& keep = results[l].mask.keep();
    for (Eigen::Index i = 0; i < keep.size(); ++i) {
      const float m = std::abs(layers[l]->data()[i]);
      if (keep.data()[i] == 0) split.largest_pruned = std::max(split.largest_pruned, m);
      if (keep.data()[i] == 1) split.smallest_kept = std::min(split.smallest_kept, m);
    }
  }
  return split;
}

TEST(CompressMagnitudePrune, PrunesExactlyTheRoundedShareOfSmallestWeights) {
  const WeightMatrix w = RandomWeights(37, 53, 1);  // 1961 weights: shares rarely round evenly
  for (double sparsity : {0.0, 0.001, 0.1, 0.5, 0.9, 0.95, 0.999}) {
    SCOPED_TRACE(sparsity);
    const PruneResult result = MagnitudePrune(w, sparsity);
    const int64_t expected = std::llround(sparsity * 1961);
    EXPECT_EQ(result.mask.pruned(), expected);
    EXPECT_EQ((Applied(w, result.mask).array() == 0).count(), expected);
    EXPECT_EQ(result.report.zeros, expected);
    EXPECT_DOUBLE_EQ(result.report.sparsity(), expected / 1961.0);
    EXPECT_EQ(result.report.params_before, 1961);
    EXPECT_EQ(result.report.params_after, 1961 - expected);
    const Split split = MagnitudeSplit({&w}, {result});
    EXPECT_LE(split.largest_pruned, split.smallest_kept);
    // What pruning removed is the energy of the pruned weights.
    const WeightMatrix pruned = w - Applied(w, result.mask);
    EXPECT_NEAR(result.report.squared_error, pruned.squaredNorm(), 1e-3);
    EXPECT_NEAR(result.report.kept_energy(),
                Applied(w, result.mask).squaredNorm() / w.squaredNorm(), 1e-6);
  }
}

TEST(CompressMagnitudePrune, TiesGoEarliestFirst) {
  // |w| takes only the values 1 and 2: the count must be met inside a block of ties.
  WeightMatrix w(4, 5);
  w << 1, -2, 1, 2, -1,
       2, 1, -1, 2, 1,
       -1, 2, 2, 1, 1,
       2, -2, 1, -1, 2;
  ASSERT_EQ((w.array().abs() == 1).count(), 11);
  // 12 zeros: the eleven 1s, and of the 2s the first in row-major order.
  const PruneResult result = MagnitudePrune(w, 0.6);
  EXPECT_EQ(result.mask.pruned(), 12);
  int twos_pruned = 0;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    const bool pruned = result.mask.keep().data()[i] == 0;
    if (std::abs(w.data()[i]) == 1) {
      EXPECT_TRUE(pruned) << i;
    } else {
      EXPECT_EQ(pruned, twos_pruned < 1) << i;
      twos_pruned += pruned;
    }
  }
  EXPECT_EQ(twos_pruned, 1);
  // Same weights, same mask.
  EXPECT_EQ(MagnitudePrune(w, 0.6).mask.keep(), result.mask.keep());
}

TEST(CompressMagnitudePrune, GlobalSetsOneThresholdAcrossLayers) {
  const WeightMatrix small = 0.1f * RandomWeights(20, 30, 2);
  const WeightMatrix medium = RandomWeights(64, 9, 3);
  const WeightMatrix large = 5.0f * RandomWeights(10, 10, 4);
  const std::vector<ConstWeightRef> layers{small, medium, large};
  const int64_t total = 600 + 576 + 100;
  for (double sparsity : {0.3, 0.5, 0.8}) {
    SCOPED_TRACE(sparsity);
    const std::vector<PruneResult> results = GlobalMagnitudePrune(layers, sparsity);
    ASSERT_EQ(results.size(), 3u);
    CompressionReport sum;
    for (const auto& r : results) sum += r.report;
    EXPECT_EQ(sum.zeros, std::llround(sparsity * total));
    EXPECT_EQ(sum.params_before, total);
    EXPECT_EQ(results[0].mask.pruned() + results[1].mask.pruned() + results[2].mask.pruned(),
              sum.zeros);
    const Split split = MagnitudeSplit({&small, &medium, &large}, results);
    EXPECT_LE(split.largest_pruned, split.smallest_kept);
    // The small layer loses the most, the large one the least.
    EXPECT_GT(results[0].report.sparsity(), results[1].report.sparsity());
    EXPECT_GT(results[1].report.sparsity(), results[2].report.sparsity());
  }
}

TEST(CompressMagnitudePrune, RepruningMaskedWeightsOnlyAddsZeros) {
  // What the gradual schedule relies on.
  const WeightMatrix w = RandomWeights(30, 40, 5);
  const PruneResult half = MagnitudePrune(w, 0.5);
  const PruneResult more = MagnitudePrune(Applied(w, half.mask), 0.7);
  EXPECT_EQ(more.mask.pruned(), 840);
  // No weight pruned before is kept now.
  EXPECT_EQ(((half.mask.keep().array() == 0) && (more.mask.keep().array() != 0)).count(), 0);
}

// Counts of non-zeros per group of m along each row: full groups first, then the tail.
TEST(CompressNofMPrune, EveryGroupKeepsItsNLargest) {
  const WeightMatrix w = RandomWeights(16, 37, 6);  // 37 = 9 * 4 + 1 = 4 * 8 + 5
  for (auto [n, m] : {std::pair{2, 4}, {1, 4}, {3, 8}, {4, 4}, {1, 1}}) {
    SCOPED_TRACE(std::to_string(n) + ":" + std::to_string(m));
    const PruneResult result = NofMPrune(w, n, m);
    const WeightMatrix pruned = Applied(w, result.mask);
    int64_t expected_zeros = 0;
    for (Eigen::Index r = 0; r < w.rows(); ++r) {
      for (Eigen::Index start = 0; start < w.cols(); start += m) {
        const Eigen::Index size = std::min<Eigen::Index>(m, w.cols() - start);
        const auto group = pruned.row(r).segment(start, size);
        // A tail shorter than m keeps min(n, size): as if zero-padded to m.
        const int64_t kept = std::min<int64_t>(n, size);
        ASSERT_EQ((group.array() != 0).count(), kept) << "row " << r << " group at " << start;
        expected_zeros += size - kept;
        // Kept weights are the group's largest.
        float smallest_kept = INFINITY, largest_pruned = 0;
        for (Eigen::Index j = 0; j < size; ++j) {
          const float a = std::abs(w(r, start + j));
          if (group[j] != 0) {
            smallest_kept = std::min(smallest_kept, a);
          } else {
            largest_pruned = std::max(largest_pruned, a);
          }
        }
        EXPECT_LE(largest_pruned, smallest_kept);
      }
    }
    EXPECT_EQ(result.report.zeros, expected_zeros);
    EXPECT_EQ(result.report.params_after, w.size() - expected_zeros);
  }
}

TEST(CompressNofMPrune, TwoOfFourHalvesARowAndKeepsAtMostTwoPerGroupWithTies) {
  // Equal magnitudes everywhere: ties still leave exactly two per group, the later two.
  const WeightMatrix w = WeightMatrix::Ones(3, 8);
  const PruneResult result = NofMPrune(w, 2, 4);
  EXPECT_EQ(result.report.sparsity(), 0.5);
  for (Eigen::Index r = 0; r < 3; ++r) {
    EXPECT_EQ(result.mask.keep().row(r),
              (Eigen::RowVectorXf(8) << 0, 0, 1, 1, 0, 0, 1, 1).finished());
  }
}

TEST(CompressMask, SurvivesSgdWithMomentum) {
  WeightMatrix w = RandomWeights(20, 30, 7);
  const PruneResult result = MagnitudePrune(w, 0.8);
  result.mask.Apply(w);
  const Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> pruned =
      result.mask.keep().array() == 0;
  const float lr = 0.1f, momentum = 0.9f;
  WeightMatrix velocity_masked = WeightMatrix::Zero(20, 30), velocity_raw = velocity_masked;
  WeightMatrix w_masked_grad = w, w_raw_grad = w;
  for (int step = 0; step < 20; ++step) {
    const WeightMatrix gradient = RandomWeights(20, 30, 100 + step);
    // With the gradient masked, momentum never reaches pruned weights: zero even before the
    // mask is applied again.
    WeightMatrix masked = gradient;
    result.mask.ApplyToGradient(masked);
    velocity_masked = momentum * velocity_masked + masked;
    w_masked_grad -= lr * velocity_masked;
    EXPECT_EQ(pruned.select(w_masked_grad.array(), 0.0f).abs().maxCoeff(), 0.0f);
    result.mask.Apply(w_masked_grad);
    // With a raw gradient the momentum buffer moves pruned weights; re-applying zeroes them.
    velocity_raw = momentum * velocity_raw + gradient;
    w_raw_grad -= lr * velocity_raw;
    EXPECT_GT(pruned.select(w_raw_grad.array(), 0.0f).abs().maxCoeff(), 0.0f);
    result.mask.Apply(w_raw_grad);
    EXPECT_EQ(pruned.select(w_raw_grad.array(), 0.0f).abs().maxCoeff(), 0.0f);
  }
  EXPECT_EQ((w_masked_grad.array() == 0).count(), result.mask.pruned());
  EXPECT_EQ((w_raw_grad.array() == 0).count(), result.mask.pruned());
  // The kept weights did train.
  EXPECT_GT((w_masked_grad - w).cwiseAbs().maxCoeff(), 0.1f);
}

TEST(CompressChannelPrune, RemovesTheChannelsOfLeastL1Norm) {
  // Row r has L1 norm proportional to its scale; rows 2 and 5 are the smallest.
  WeightMatrix w = RandomWeights(8, 4 * 9, 8).cwiseAbs();
  const float scales[8] = {3, 5, 0.5, 4, 6, 0.2, 2, 7};
  for (int r = 0; r < 8; ++r) w.row(r) *= scales[r] / w.row(r).sum();
  const ChannelPruneResult result = ChannelPrune(w, 0.25);
  EXPECT_EQ(result.kept, (std::vector<int>{0, 1, 3, 4, 6, 7}));
  EXPECT_EQ(result.weights, w(result.kept, Eigen::all));
  EXPECT_EQ(result.report.zeros, 2 * 36);
  EXPECT_EQ(result.report.params_before, 8 * 36);
  EXPECT_EQ(result.report.params_after, 6 * 36);
  EXPECT_DOUBLE_EQ(result.report.sparsity(), 0.25);
  EXPECT_NEAR(result.report.squared_error, w.row(2).squaredNorm() + w.row(5).squaredNorm(), 1e-6);
  // Ties go earliest first, and one channel always stays.
  EXPECT_EQ(ChannelPrune(WeightMatrix::Ones(4, 3), 0.5).kept, (std::vector<int>{2, 3}));
  EXPECT_EQ(ChannelPrune(WeightMatrix::Ones(2, 3), 0.9).kept, (std::vector<int>{1}));
}

TEST(CompressChannelPrune, NextLayerShrinksToTheKeptInputChannels) {
  // conv1 3 -> 6 (3x3) whose channels 1 and 4 are zero, then conv2 6 -> 5 (3x3), then a linear
  // layer on the flattened 5 x 4 x 4 maps. Pruning conv1's two empty channels and shrinking
  // conv2's inputs must leave conv2's output unchanged; the same for conv2 -> linear.
  WeightMatrix conv1 = RandomWeights(6, 3 * 9, 9);
  conv1.row(1).setZero();
  conv1.row(4).setZero();
  const WeightMatrix conv2 = RandomWeights(5, 6 * 9, 10);
  const Eigen::MatrixXf input = RandomWeights(3, 8 * 8, 11);

  const Eigen::MatrixXf hidden = test::Conv(conv1, input, 8, 8, 3).cwiseMax(0);  // 6 x (6*6)
  const Eigen::MatrixXf output = test::Conv(conv2, hidden, 6, 6, 3);             // 5 x (4*4)

  const ChannelPruneResult pruned = ChannelPrune(conv1, 2.0 / 6);
  ASSERT_EQ(pruned.kept, (std::vector<int>{0, 2, 3, 5}));
  const WeightMatrix conv2_shrunk = ShrinkInputChannels(conv2, pruned.kept, 9);
  ASSERT_EQ(conv2_shrunk.rows(), 5);
  ASSERT_EQ(conv2_shrunk.cols(), 4 * 9);
  const Eigen::MatrixXf hidden_shrunk = test::Conv(pruned.weights, input, 8, 8, 3).cwiseMax(0);
  EXPECT_TRUE(hidden_shrunk.isApprox(hidden(pruned.kept, Eigen::all), 1e-6f));
  const Eigen::MatrixXf output_shrunk = test::Conv(conv2_shrunk, hidden_shrunk, 6, 6, 3);
  EXPECT_LT((output_shrunk - output).cwiseAbs().maxCoeff(), 1e-4f);

  // conv2 -> linear(5*16 -> 3): prune conv2's weakest channel after zeroing it.
  WeightMatrix conv2_weak = conv2;
  conv2_weak.row(3).setZero();
  const WeightMatrix linear = RandomWeights(3, 5 * 16, 12);
  // Flattened C x H x W: the row-major order of the C x (H*W) maps.
  const WeightMatrix maps = test::Conv(conv2_weak, hidden, 6, 6, 3);
  const Eigen::Map<const Eigen::VectorXf> flat(maps.data(), maps.size());
  const ChannelPruneResult pruned2 = ChannelPrune(conv2_weak, 0.2);
  ASSERT_EQ(pruned2.kept, (std::vector<int>{0, 1, 2, 4}));
  const WeightMatrix maps2 = test::Conv(pruned2.weights, hidden, 6, 6, 3);
  const Eigen::Map<const Eigen::VectorXf> flat2(maps2.data(), maps2.size());
  EXPECT_LT((ShrinkInputChannels(linear, pruned2.kept, 16) * flat2 - linear * flat)
                .cwiseAbs()
                .maxCoeff(),
            1e-4f);
}

TEST(CompressCubicSparsitySchedule, RisesFromInitialToFinalAndIsClampedOutside) {
  const CubicSparsitySchedule schedule({.initial_sparsity = 0.1, .final_sparsity = 0.9,
                                        .start_step = 100, .pruning_steps = 8, .interval = 50});
  const int64_t end = 100 + 8 * 50;
  EXPECT_EQ(schedule.SparsityAt(0), 0.1);
  EXPECT_EQ(schedule.SparsityAt(100), 0.1);
  EXPECT_EQ(schedule.SparsityAt(end), 0.9);
  EXPECT_EQ(schedule.SparsityAt(end + 1000), 0.9);
  // Half-way, (1 - 1/2)^3 of the distance is left.
  EXPECT_DOUBLE_EQ(schedule.SparsityAt(300), 0.9 + (0.1 - 0.9) * 0.125);
  double previous = 0;
  double previous_rise = INFINITY;
  for (int64_t t = 0; t <= end + 100; ++t) {
    const double s = schedule.SparsityAt(t);
    EXPECT_GE(s, previous) << t;
    // Fast at first, then slower: the rise per step never grows inside the window.
    if (t > 100 && t <= end) {
      EXPECT_LE(s - previous, previous_rise + 1e-15) << t;
      previous_rise = s - previous;
    }
    previous = s;
  }
  EXPECT_TRUE(schedule.IsPruningStep(100));
  EXPECT_TRUE(schedule.IsPruningStep(150));
  EXPECT_TRUE(schedule.IsPruningStep(end));
  EXPECT_FALSE(schedule.IsPruningStep(99));
  EXPECT_FALSE(schedule.IsPruningStep(101));
  EXPECT_FALSE(schedule.IsPruningStep(end + 50));
}

}  // namespace
}  // namespace hwnas
