#include "evaluator/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <vector>

#include "core/errors.h"
#include "core/rng.h"
#include "evaluator/augmentation.h"
#include "evaluator/batch_iterator.h"
#include "evaluator/data_splits.h"
#include "evaluator/fashion_mnist.h"
#include "evaluator/normalization.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::ThrowsWith;

// The installed Fashion-MNIST, read once for every test here; null when it is not installed.
const TrainTestSets* RealFashionMnist() {
  static const std::unique_ptr<TrainTestSets> sets =
      std::filesystem::exists(kFashionMnistDir)
          ? std::make_unique<TrainTestSets>(LoadFashionMnist())
          : nullptr;
  return sets.get();
}

#define SKIP_WITHOUT_FASHION_MNIST()                                                    \
  if (!RealFashionMnist()) {                                                            \
    GTEST_SKIP() << "no " << kFashionMnistDir                                           \
                 << ": install the Debian package dataset-fashion-mnist (the README's " \
                    "set-up does)";                                                     \
  }

// n images of `shape` with values in [0.5, 1.5] (never 0, so zero padding shows), labels i % k.
Dataset RandomDataset(int64_t n, ImageShape shape, int num_classes, uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.shape = shape;
  data.num_classes = num_classes;
  data.images.resize(n, shape.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < shape.size(); ++j) {
      data.images(i, j) = 0.5f + static_cast<float>(rng.Uniform());
    }
    data.labels.push_back(static_cast<int>(i % num_classes));
  }
  return data;
}

// `image` cropped by (dy, dx) with zero fill, after mirroring when `flip`: AugmentBatch's
// transform written out the slow way.
std::vector<float> Transformed(const float* image, const ImageShape& s, int dy, int dx, bool flip) {
  std::vector<float> out;
  for (int c = 0; c < s.channels; ++c) {
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        const int sy = y + dy;
        const int sx = (flip ? s.width - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < s.height && sx >= 0 && sx < s.width;
        out.push_back(inside ? image[(c * s.height + sy) * s.width + sx] : 0.0f);
      }
    }
  }
  return out;
}

struct Found {
  int dy, dx;
  bool flip;
};

// The (dy, dx, flip) within `pad` that turns `original` into `augmented`, if any.
std::optional<Found> FindTransform(const float* original, const float* augmented,
                                   const ImageShape& s, int pad) {
  for (int dy = -pad; dy <= pad; ++dy) {
    for (int dx = -pad; dx <= pad; ++dx) {
      for (const bool flip : {false, true}) {
        if (Transformed(original, s, dy, dx, flip) ==
            std::vector<float>(augmented, augmented + s.size())) {
          return Found{dy, dx, flip};
        }
      }
    }
  }
  return std::nullopt;
}

std::vector<int> ClassCounts(const std::vector<int>& labels, const std::vector<int64_t>& indices,
                             int num_classes) {
  std::vector<int> counts(num_classes);
  for (const int64_t i : indices) ++counts[labels[i]];
  return counts;
}

TEST(FashionMnist, RealFilesHaveTheirKnownShapeAndLabels) {
  SKIP_WITHOUT_FASHION_MNIST();
  const TrainTestSets& sets = *RealFashionMnist();
  EXPECT_EQ(sets.train.size(), 60000);
  EXPECT_EQ(sets.test.size(), 10000);
  for (const Dataset* data : {&sets.train, &sets.test}) {
    EXPECT_EQ(data->shape, (ImageShape{1, 28, 28}));
    EXPECT_EQ(data->images.cols(), 784);
    EXPECT_EQ(data->num_classes, 10);
    EXPECT_EQ(static_cast<int64_t>(data->labels.size()), data->size());
    EXPECT_GE(data->images.minCoeff(), 0.0f);
    EXPECT_EQ(data->images.maxCoeff(), 1.0f);
  }
  // Balanced: 6000 and 1000 of each class.
  std::vector<int64_t> all_train(60000), all_test(10000);
  std::iota(all_train.begin(), all_train.end(), 0);
  std::iota(all_test.begin(), all_test.end(), 0);
  EXPECT_EQ(ClassCounts(sets.train.labels, all_train, 10), std::vector<int>(10, 6000));
  EXPECT_EQ(ClassCounts(sets.test.labels, all_test, 10), std::vector<int>(10, 1000));
  // The first labels as published.
  EXPECT_EQ(std::vector<int>(sets.train.labels.begin(), sets.train.labels.begin() + 10),
            (std::vector<int>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  EXPECT_EQ(std::vector<int>(sets.test.labels.begin(), sets.test.labels.begin() + 10),
            (std::vector<int>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  EXPECT_EQ(kFashionMnistClasses[sets.train.labels[0]], "Ankle boot");
}

TEST(StratifiedSplit, IsDisjointCoversAllAndKeepsClassShares) {
  SKIP_WITHOUT_FASHION_MNIST();
  const std::vector<int>& labels = RealFashionMnist()->train.labels;
  const SplitIndices split = StratifiedSplit(labels, 10000, 42);
  EXPECT_EQ(split.train.size(), 50000u);
  EXPECT_EQ(split.validation.size(), 10000u);
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_TRUE(std::is_sorted(split.validation.begin(), split.validation.end()));
  std::vector<int64_t> all;
  std::merge(split.train.begin(), split.train.end(), split.validation.begin(),
             split.validation.end(), std::back_inserter(all));
  std::vector<int64_t> expected(60000);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);  // every index once: disjoint and covering
  EXPECT_EQ(ClassCounts(labels, split.validation, 10), std::vector<int>(10, 1000));
}

TEST(StratifiedSplit, SameSeedSameSplitOtherSeedsDiffer) {
  SKIP_WITHOUT_FASHION_MNIST();
  const std::vector<int>& labels = RealFashionMnist()->train.labels;
  const SplitIndices a = StratifiedSplit(labels, 10000, 7);
  const SplitIndices b = StratifiedSplit(labels, 10000, 7);
  const SplitIndices c = StratifiedSplit(labels, 10000, 8);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_EQ(a.train, b.train);
  EXPECT_NE(a.validation, c.validation);
  std::vector<int64_t> shared;
  std::set_intersection(a.validation.begin(), a.validation.end(), c.validation.begin(),
                        c.validation.end(), std::back_inserter(shared));
  EXPECT_LT(shared.size(), 2000u);  // about 10000 / 6 by chance
}

// Pinned once: a change here changes every stored run's validation set.
TEST(StratifiedSplit, IsPinnedAcrossPlatforms) {
  std::vector<int> labels(30);
  for (int i = 0; i < 30; ++i) labels[i] = i % 3;
  const SplitIndices split = StratifiedSplit(labels, 6, 2024);
  EXPECT_EQ(split.validation, (std::vector<int64_t>{3, 8, 14, 16, 24, 25}));
  EXPECT_EQ(ClassCounts(labels, split.validation, 3), std::vector<int>(3, 2));
}

TEST(StratifiedSplit, UnevenClassesGetTheirShareWithinOne) {
  std::vector<int> labels;
  for (int c = 0; c < 4; ++c) labels.insert(labels.end(), 10 + 7 * c, c);  // 10, 17, 24, 31
  const SplitIndices split = StratifiedSplit(labels, 20, 3);
  EXPECT_EQ(split.validation.size(), 20u);
  const std::vector<int> counts = ClassCounts(labels, split.validation, 4);
  for (int c = 0; c < 4; ++c) {
    EXPECT_LE(std::abs(counts[c] - (10 + 7 * c) * 20.0 / 82), 1.0) << "class " << c;
  }
}

TEST(StratifiedSplit, ValidationSizeMustLeaveBothSplitsNonEmpty) {
  const std::vector<int> labels(10, 0);
  for (const int64_t size : {0, 10, -1}) {
    EXPECT_TRUE(ThrowsWith<ConfigError>([&] { StratifiedSplit(labels, size, 0); },
                                        {"validation size " + std::to_string(size) +
                                         " must be in 1..9 (the training set has 10 examples)"}));
  }
}

TEST(Normalization, EveryChannelOfTheFittedSetHasMeanZeroStdOne) {
  Dataset data = RandomDataset(200, {3, 4, 5}, 2, 1);
  data.images.middleCols(20, 20) *= 7.0f;  // channel 1 on another scale
  data.images.middleCols(40, 20).array() -= 3.0f;
  const ChannelStats stats = ComputeChannelStats(data);
  EXPECT_NEAR(stats.mean[0], 1.0, 0.01);
  EXPECT_NEAR(stats.stddev[0], 1 / std::sqrt(12.0), 0.01);  // uniform on [0.5, 1.5]
  EXPECT_NEAR(stats.mean[1], 7.0, 0.1);
  EXPECT_NEAR(stats.mean[2], -2.0, 0.01);
  Normalize(stats, data);
  const ChannelStats after = ComputeChannelStats(data);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(after.mean[c], 0.0, 1e-5) << "channel " << c;
    EXPECT_NEAR(after.stddev[c], 1.0, 1e-5) << "channel " << c;
  }
}

TEST(Normalization, ConstantChannelBecomesZero) {
  Dataset data = RandomDataset(10, {1, 2, 2}, 2, 2);
  data.images.setConstant(0.25f);
  const ChannelStats stats = ComputeChannelStats(data);
  EXPECT_EQ(stats.stddev[0], 1.0);
  Normalize(stats, data);
  EXPECT_EQ(data.images.cwiseAbs().maxCoeff(), 0.0f);
}

TEST(DataSplits, NormalisesEverySplitWithTheTrainStatistics) {
  SKIP_WITHOUT_FASHION_MNIST();
  const TrainTestSets& raw = *RealFashionMnist();
  const DataSplits splits(raw, {.validation_size = 10000, .seed = 5});
  EXPECT_EQ(splits.train().size(), 50000);
  EXPECT_EQ(splits.validation().size(), 10000);
  EXPECT_EQ(splits.final_test().size(), 10000);
  // Fashion-MNIST's pixel mean and std over the training images are about 0.286 and 0.353.
  EXPECT_NEAR(splits.stats().mean[0], 0.286, 0.005);
  EXPECT_NEAR(splits.stats().stddev[0], 0.353, 0.005);
  const ChannelStats train = ComputeChannelStats(splits.train());
  EXPECT_NEAR(train.mean[0], 0.0, 1e-4);
  EXPECT_NEAR(train.stddev[0], 1.0, 1e-4);

  const SplitIndices split = StratifiedSplit(raw.train.labels, 10000, 5);
  const Dataset validation = Subset(raw.train, split.validation);
  const auto normalised = [&](const Dataset& d, int64_t row) -> ImageMatrix {
    return (d.images.row(row).array() - static_cast<float>(splits.stats().mean[0])) /
           static_cast<float>(splits.stats().stddev[0]);
  };
  for (const int64_t row : {0, 4321, 9999}) {
    EXPECT_EQ(splits.validation().images.row(row), normalised(validation, row));
    EXPECT_EQ(splits.validation().labels[row], validation.labels[row]);
    EXPECT_EQ(splits.final_test().images.row(row), normalised(raw.test, row));
  }
  EXPECT_EQ(splits.final_test().labels, raw.test.labels);
}

TEST(Augmentation, FlipMirrorsHalfTheImagesAndKeepsTheirPixels) {
  const ImageShape shape{2, 5, 6};
  const Dataset data = RandomDataset(64, shape, 2, 3);
  ImageMatrix batch = data.images;
  AugmentBatch({.horizontal_flip = true}, shape, Rng(11), batch);
  int flipped = 0;
  for (int r = 0; r < 64; ++r) {
    std::vector<float> before(data.images.row(r).begin(), data.images.row(r).end());
    std::vector<float> after(batch.row(r).begin(), batch.row(r).end());
    const auto found = FindTransform(before.data(), after.data(), shape, 0);
    ASSERT_TRUE(found) << "row " << r;
    flipped += found->flip;
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    EXPECT_EQ(before, after) << "row " << r;
  }
  EXPECT_GT(flipped, 16);
  EXPECT_LT(flipped, 48);
}

TEST(Augmentation, CropShiftsContentAndFillsWithZeros) {
  const ImageShape shape{1, 28, 28};
  const Dataset data = RandomDataset(50, shape, 2, 4);
  ImageMatrix batch = data.images;
  AugmentBatch({.crop_padding = 2}, shape, Rng(12), batch);
  std::set<std::pair<int, int>> shifts;
  for (int r = 0; r < 50; ++r) {
    const auto found = FindTransform(data.images.row(r).data(), batch.row(r).data(), shape, 2);
    ASSERT_TRUE(found) << "row " << r;
    EXPECT_FALSE(found->flip);
    shifts.insert({found->dy, found->dx});
    const int64_t zeros = (batch.row(r).array() == 0.0f).count();
    const int rows_out = std::abs(found->dy);
    const int cols_out = std::abs(found->dx);
    EXPECT_EQ(zeros, 28 * 28 - (28 - rows_out) * (28 - cols_out)) << "row " << r;
  }
  EXPECT_GT(shifts.size(), 10u);  // of the 25 possible
}

TEST(Augmentation, CropAndFlipTogether) {
  const ImageShape shape{3, 8, 8};
  const Dataset data = RandomDataset(40, shape, 2, 5);
  ImageMatrix batch = data.images;
  AugmentBatch({.crop_padding = 1, .horizontal_flip = true}, shape, Rng(13), batch);
  for (int r = 0; r < 40; ++r) {
    EXPECT_TRUE(FindTransform(data.images.row(r).data(), batch.row(r).data(), shape, 1))
        << "row " << r;
  }
}

TEST(Augmentation, RowsDependOnTheirForkAlone) {
  const ImageShape shape{1, 10, 10};
  const Dataset data = RandomDataset(20, shape, 2, 6);
  const AugmentOptions options{.crop_padding = 2, .horizontal_flip = true};
  ImageMatrix a = data.images, b = data.images, c = data.images;
  AugmentBatch(options, shape, Rng(14), a);
  AugmentBatch(options, shape, Rng(14), b);
  AugmentBatch(options, shape, Rng(15), c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // A row's result depends on its content and its fork alone, not on the rest of the batch: rows
  // 10..19 augmented as a batch of their own come out as they do in rows 0..9 of another batch.
  ImageMatrix tail = data.images.bottomRows(10);
  AugmentBatch(options, shape, Rng(14), tail);
  ImageMatrix whole = data.images;
  whole.topRows(10) = data.images.bottomRows(10);
  AugmentBatch(options, shape, Rng(14), whole);
  EXPECT_EQ(tail, whole.topRows(10));
}

// Image i of the data set carries i in its first pixel, so a batch says which examples it holds.
Dataset NumberedDataset(int64_t n) {
  Dataset data = RandomDataset(n, {1, 3, 3}, 4, 7);
  for (int64_t i = 0; i < n; ++i) data.images(i, 0) = static_cast<float>(i);
  return data;
}

std::vector<int64_t> EpochOrder(const Dataset& data, const BatchOptions& options, int64_t epoch) {
  BatchIterator batches(data, options, epoch);
  std::vector<int64_t> order;
  Batch batch;
  while (batches.Next(batch)) {
    for (Eigen::Index r = 0; r < batch.images.rows(); ++r) {
      const auto i = static_cast<int64_t>(batch.images(r, 0));
      order.push_back(i);
      EXPECT_EQ(batch.labels[r], data.labels[i]);
    }
  }
  return order;
}

TEST(BatchIterator, VisitsEveryExampleOncePerEpoch) {
  const Dataset data = NumberedDataset(103);
  BatchOptions options{.batch_size = 10, .seed = 1};
  BatchIterator batches(data, options, 0);
  EXPECT_EQ(batches.num_batches(), 11);
  EXPECT_EQ(batches.At(10).images.rows(), 3);
  EXPECT_EQ(batches.At(10).labels.size(), 3u);
  for (const int64_t epoch : {0, 1, 2}) {
    std::vector<int64_t> order = EpochOrder(data, options, epoch);
    std::sort(order.begin(), order.end());
    std::vector<int64_t> expected(103);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(order, expected) << "epoch " << epoch;
  }
}

TEST(BatchIterator, DropLastDropsOnlyTheShortBatch) {
  const Dataset data = NumberedDataset(103);
  const BatchOptions options{.batch_size = 10, .drop_last = true, .seed = 1};
  EXPECT_EQ(BatchIterator(data, options, 0).num_batches(), 10);
  const std::vector<int64_t> order = EpochOrder(data, options, 0);
  EXPECT_EQ(order.size(), 100u);
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 100u);
  EXPECT_EQ(BatchIterator(NumberedDataset(9), options, 0).num_batches(), 0);
}

TEST(BatchIterator, ShuffleDependsOnSeedAndEpochOnly) {
  const Dataset data = NumberedDataset(50);
  const BatchOptions options{.batch_size = 8, .seed = 3};
  EXPECT_EQ(EpochOrder(data, options, 4), EpochOrder(data, options, 4));
  EXPECT_NE(EpochOrder(data, options, 4), EpochOrder(data, options, 5));
  EXPECT_NE(EpochOrder(data, options, 4), EpochOrder(data, {.batch_size = 8, .seed = 4}, 4));
}

// Batches built in any order, by any iterator, are the same: what makes training independent
// of the thread count.
TEST(BatchIterator, AugmentedBatchIsAFunctionOfSeedEpochAndIndex) {
  const Dataset data = RandomDataset(40, {1, 6, 6}, 3, 8);
  const BatchOptions options{.batch_size = 16, .seed = 9, .augment = {2, true}};
  BatchIterator forward(data, options, 2);
  const BatchIterator backward(data, options, 2);
  std::vector<Batch> in_order;
  Batch batch;
  while (forward.Next(batch)) in_order.push_back(batch);
  ASSERT_EQ(in_order.size(), 3u);
  for (int64_t b = 2; b >= 0; --b) {
    const Batch again = backward.At(b);
    EXPECT_EQ(again.images, in_order[b].images) << "batch " << b;
    EXPECT_EQ(again.labels, in_order[b].labels) << "batch " << b;
  }
  EXPECT_NE(BatchIterator(data, {.batch_size = 16, .seed = 9}, 2).At(0).images,
            in_order[0].images);  // augmentation did something
  EXPECT_NE(BatchIterator(data, options, 3).At(0).images, in_order[0].images);
}

TEST(BatchIterator, BatchSizeMustBePositive) {
  const Dataset data = NumberedDataset(5);
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { BatchIterator(data, {.batch_size = 0}, 0); },
                                      {"batch size must be at least 1, got 0"}));
}

}  // namespace
}  // namespace hwnas
