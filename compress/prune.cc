#include "compress/prune.h"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <sstream>

#include "compress/checks.h"
#include "core/errors.h"

namespace hwnas {

namespace {

constexpr const char* kMagnitude = "magnitude pruning";
constexpr const char* kNofM = "N:M pruning";
constexpr const char* kChannel = "channel pruning";
constexpr const char* kSchedule = "sparsity schedule";

int64_t RoundedCount(double share, int64_t total) {
  return std::llround(share * static_cast<double>(total));
}

// One row of a layer's weights and the same row of its keep matrix.
struct RowSpan {
  const float* weights;
  float* keep;
  Eigen::Index size;
};

// |w| as the bits of a float with the sign cleared. Among non-negative floats, integer order is
// numeric order, so the count-th smallest magnitude can be found by counting 16 bits at a time
// (a radix select): two parallel counting passes in place of a serial nth_element.
uint32_t MagnitudeBits(float w) { return std::bit_cast<uint32_t>(w) & 0x7fffffffu; }

constexpr int kBins = 1 << 16;

// How many weights fall in each bin(bits); a negative bin skips the weight. Counted per thread
// and summed, which is exact in any order.
template <typename Bin>
std::vector<int64_t> Histogram(const std::vector<RowSpan>& rows, Bin bin) {
  tbb::enumerable_thread_specific<std::vector<int64_t>> local(
      [] { return std::vector<int64_t>(kBins, 0); });
  tbb::parallel_for(tbb::blocked_range<size_t>(0, rows.size()), [&](const auto& range) {
    auto& counts = local.local();
    for (size_t r = range.begin(); r != range.end(); ++r) {
      for (Eigen::Index i = 0; i < rows[r].size; ++i) {
        const int b = bin(MagnitudeBits(rows[r].weights[i]));
        if (b >= 0) ++counts[b];
      }
    }
  });
  std::vector<int64_t> total(kBins, 0);
  for (const auto& counts : local) {
    for (int b = 0; b < kBins; ++b) total[b] += counts[b];
  }
  return total;
}

// The bin holding rank `rank` (from 0) of a histogram, and how many counts lie below that bin.
std::pair<uint32_t, int64_t> BinOfRank(const std::vector<int64_t>& histogram, int64_t rank) {
  uint32_t bin = 0;
  int64_t below = 0;
  while (below + histogram[bin] <= rank) below += histogram[bin++];
  return {bin, below};
}

// Keep matrices for `layers` with exactly `count` of their weights pruned: the `count` least by
// (|w|, position), position running layer by layer, each row-major.
std::vector<WeightMatrix> KeepLargest(std::span<const ConstWeightRef> layers, int64_t count) {
  std::vector<WeightMatrix> keep;
  keep.reserve(layers.size());  // the row spans point into these
  std::vector<RowSpan> rows;
  for (const auto& layer : layers) {
    keep.emplace_back(layer.rows(), layer.cols());
    for (Eigen::Index r = 0; r < layer.rows(); ++r) {
      rows.push_back({layer.row(r).data(), keep.back().row(r).data(), layer.cols()});
    }
  }
  // The count-th smallest magnitude, its high half and then its low half, and how many
  // weights lie below it.
  uint32_t threshold = 0;
  int64_t below = 0;
  if (count > 0) {
    const auto [high, below_high] =
        BinOfRank(Histogram(rows, [](uint32_t bits) { return static_cast<int>(bits >> 16); }),
                  count - 1);
    const auto [low, below_low] = BinOfRank(
        Histogram(rows,
                  [high](uint32_t bits) {
                    return bits >> 16 == high ? static_cast<int>(bits & 0xffff) : -1;
                  }),
        count - 1 - below_high);
    threshold = high << 16 | low;
    below = below_high + below_low;
  }
  // The rest of the count comes from the ties at the threshold, earliest first: each row's
  // share of them, then every row on its own.
  std::vector<int64_t> ties(rows.size());
  tbb::parallel_for(size_t{0}, rows.size(), [&](size_t r) {
    ties[r] = std::count_if(rows[r].weights, rows[r].weights + rows[r].size,
                            [&](float w) { return MagnitudeBits(w) == threshold; });
  });
  int64_t ties_left = count - below;
  for (int64_t& row_ties : ties) {
    row_ties = std::min(row_ties, ties_left);
    ties_left -= row_ties;
  }
  tbb::parallel_for(size_t{0}, rows.size(), [&](size_t r) {
    int64_t ties_to_prune = ties[r];
    for (Eigen::Index i = 0; i < rows[r].size; ++i) {
      const uint32_t bits = MagnitudeBits(rows[r].weights[i]);
      const bool pruned = bits < threshold || (bits == threshold && ties_to_prune-- > 0);
      rows[r].keep[i] = pruned ? 0.0f : 1.0f;
    }
  });
  return keep;
}

PruneResult MaskAndReport(ConstWeightRef weights, WeightMatrix keep) {
  Mask mask(std::move(keep));
  const CompressionReport report = MaskedWeightsReport(weights, mask.keep());
  return {std::move(mask), report};
}

}  // namespace

PruneResult MagnitudePrune(ConstWeightRef weights, double sparsity) {
  return std::move(GlobalMagnitudePrune({&weights, 1}, sparsity).front());
}

std::vector<PruneResult> GlobalMagnitudePrune(std::span<const ConstWeightRef> layers,
                                              double sparsity) {
  compress_checks::CheckShare(kMagnitude, "sparsity", sparsity);
  compress_checks::CheckAtLeast(kMagnitude, "number of layers", static_cast<int64_t>(layers.size()),
                                1);
  int64_t total = 0;
  for (const auto& layer : layers) {
    compress_checks::CheckNotEmpty(kMagnitude, "weights", layer.rows(), layer.cols());
    total += layer.size();
  }
  std::vector<WeightMatrix> keep = KeepLargest(layers, RoundedCount(sparsity, total));
  std::vector<PruneResult> results;
  for (size_t l = 0; l < layers.size(); ++l) {
    results.push_back(MaskAndReport(layers[l], std::move(keep[l])));
  }
  return results;
}

PruneResult NofMPrune(ConstWeightRef weights, int n, int m) {
  compress_checks::CheckAtLeast(kNofM, "M", m, 1);
  compress_checks::CheckInRange(kNofM, "N", n, 1, m);
  compress_checks::CheckNotEmpty(kNofM, "weights", weights.rows(), weights.cols());
  WeightMatrix keep(weights.rows(), weights.cols());
  const Eigen::Index cols = weights.cols();
  const Eigen::Index groups = (cols + m - 1) / m;
  // Position j of every group of a row, as one strided array.
  using Lane = Eigen::Map<Eigen::ArrayXf, 0, Eigen::InnerStride<>>;
  tbb::parallel_for(Eigen::Index{0}, weights.rows(), [&](Eigen::Index r) {
    // |w| padded to whole groups with -1, below every magnitude, so a short last group keeps
    // its min(n, length) largest.
    Eigen::ArrayXf magnitude = Eigen::ArrayXf::Constant(groups * m, -1.0f);
    magnitude.head(cols) = weights.row(r).transpose().array().abs();
    Eigen::ArrayXf kept(groups * m);
    Eigen::ArrayXi above(groups);
    auto lane = [&](Eigen::ArrayXf& values, int j) {
      return Lane(values.data() + j, groups, Eigen::InnerStride<>(m));
    };
    // A weight stays if fewer than n of its group rank above it by (|w|, position): the
    // earlier ones by a larger |w|, the later ones by an equal one too. Quadratic in M, which
    // is small (4, 8, 16) where N:M kernels exist, and all groups of a row go at once.
    for (int j = 0; j < m; ++j) {
      above.setZero();
      for (int i = 0; i < j; ++i) above += (lane(magnitude, i) > lane(magnitude, j)).cast<int>();
      for (int i = j + 1; i < m; ++i) {
        above += (lane(magnitude, i) >= lane(magnitude, j)).cast<int>();
      }
      lane(kept, j) = (above < n).cast<float>();
    }
    keep.row(r) = kept.head(cols).matrix().transpose();
  });
  return MaskAndReport(weights, std::move(keep));
}

ChannelPruneResult ChannelPrune(ConstWeightRef weights, double sparsity) {
  compress_checks::CheckShare(kChannel, "sparsity", sparsity);
  compress_checks::CheckNotEmpty(kChannel, "weights", weights.rows(), weights.cols());
  const Eigen::Index rows = weights.rows();
  const Eigen::Index removed = std::min<Eigen::Index>(RoundedCount(sparsity, rows), rows - 1);
  const Eigen::VectorXf l1 = weights.cwiseAbs().rowwise().sum();
  std::vector<int> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return l1[a] < l1[b]; });

  ChannelPruneResult result;
  result.kept.assign(order.begin() + removed, order.end());
  std::sort(result.kept.begin(), result.kept.end());
  result.weights = weights(result.kept, Eigen::all);
  WeightMatrix keep = WeightMatrix::Zero(rows, weights.cols());
  keep(result.kept, Eigen::all).setOnes();
  result.report = MaskedWeightsReport(weights, keep);
  result.report.params_after = result.weights.size();
  return result;
}

WeightMatrix ShrinkInputChannels(ConstWeightRef next_weights, std::span<const int> kept,
                                 int kernel_area) {
  compress_checks::CheckAtLeast(kChannel, "kernel_area", kernel_area, 1);
  compress_checks::CheckNotEmpty(kChannel, "next-layer weights", next_weights.rows(),
                                 next_weights.cols());
  compress_checks::CheckAtLeast(kChannel, "number of kept channels",
                                static_cast<int64_t>(kept.size()), 1);
  if (next_weights.cols() % kernel_area != 0) {
    std::ostringstream message;
    message << kChannel << ": the next layer's " << next_weights.cols()
            << " input columns are not a multiple of kernel_area = " << kernel_area;
    throw ConfigError(message.str());
  }
  const int channels = static_cast<int>(next_weights.cols() / kernel_area);
  WeightMatrix shrunk(next_weights.rows(), static_cast<Eigen::Index>(kept.size()) * kernel_area);
  for (size_t j = 0; j < kept.size(); ++j) {
    if (kept[j] < 0 || kept[j] >= channels) {
      std::ostringstream valid;
      valid << "[0, " << channels - 1 << "] (the next layer's input channels)";
      compress_checks::ThrowOutOfRange(kChannel, "kept channel", kept[j], valid.str());
    }
    // Ascending, like ChannelPrune's output: anything else is a mix-up of index lists.
    if (j > 0 && kept[j] <= kept[j - 1]) {
      std::ostringstream message;
      message << kChannel << ": kept channels must be strictly ascending; " << kept[j]
              << " follows " << kept[j - 1];
      throw ConfigError(message.str());
    }
    shrunk.middleCols(static_cast<Eigen::Index>(j) * kernel_area, kernel_area) =
        next_weights.middleCols(static_cast<Eigen::Index>(kept[j]) * kernel_area, kernel_area);
  }
  return shrunk;
}

CubicSparsitySchedule::CubicSparsitySchedule(const Options& options) : options_(options) {
  compress_checks::CheckShare(kSchedule, "final_sparsity", options.final_sparsity);
  if (!(options.initial_sparsity >= 0 && options.initial_sparsity <= options.final_sparsity)) {
    std::ostringstream valid;
    valid << "[0, final_sparsity = " << options.final_sparsity << "]";
    compress_checks::ThrowOutOfRange(kSchedule, "initial_sparsity", options.initial_sparsity,
                                     valid.str());
  }
  compress_checks::CheckAtLeast(kSchedule, "start_step", options.start_step, 0);
  compress_checks::CheckAtLeast(kSchedule, "pruning_steps", options.pruning_steps, 1);
  compress_checks::CheckAtLeast(kSchedule, "interval", options.interval, 1);
}

double CubicSparsitySchedule::SparsityAt(int64_t step) const {
  const auto& o = options_;
  const double progress =
      static_cast<double>(step - o.start_step) / static_cast<double>(o.pruning_steps * o.interval);
  if (progress <= 0) return o.initial_sparsity;
  if (progress >= 1) return o.final_sparsity;
  const double remaining = 1 - progress;
  return o.final_sparsity +
         (o.initial_sparsity - o.final_sparsity) * remaining * remaining * remaining;
}

bool CubicSparsitySchedule::IsPruningStep(int64_t step) const {
  const auto& o = options_;
  const int64_t since = step - o.start_step;
  return since >= 0 && since <= o.pruning_steps * o.interval && since % o.interval == 0;
}

}  // namespace hwnas
