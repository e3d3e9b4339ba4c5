#include "compress/compression_report.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <vector>

#include "compress/checks.h"

namespace hwnas {

namespace {

// Float sums are exact enough over this many values; longer rows are cut into segments.
constexpr Eigen::Index kSegment = 4096;

// The report of the weights against their compressed version, given per segment as a pair of
// Eigen array expressions by segment(row, first column, length). Segments are summed in float,
// in parallel, then added up in double in a fixed order: the same figures at any thread count.
template <typename Segment>
CompressionReport Sum(Eigen::Index rows, Eigen::Index cols, Segment segment) {
  const Eigen::Index per_row = (cols + kSegment - 1) / kSegment;
  struct Sums {
    int64_t zeros;
    double squared_error, energy_before, energy_after;
  };
  std::vector<Sums> sums(rows * per_row);
  tbb::parallel_for(Eigen::Index{0}, rows * per_row, [&](Eigen::Index i) {
    const Eigen::Index first = (i % per_row) * kSegment;
    const auto [before, after] = segment(i / per_row, first, std::min(kSegment, cols - first));
    sums[i] = {(after == 0.0f).count(), (before - after).square().sum(), before.square().sum(),
               after.square().sum()};
  });
  CompressionReport report;
  report.params_before = rows * cols;
  for (const Sums& s : sums) {
    report.zeros += s.zeros;
    report.squared_error += s.squared_error;
    report.energy_before += s.energy_before;
    report.energy_after += s.energy_after;
  }
  return report;
}

}  // namespace

CompressionReport& CompressionReport::operator+=(const CompressionReport& other) {
  params_before += other.params_before;
  params_after += other.params_after;
  zeros += other.zeros;
  squared_error += other.squared_error;
  energy_before += other.energy_before;
  energy_after += other.energy_after;
  return *this;
}

CompressionReport CompareWeights(ConstWeightRef original, ConstWeightRef compressed,
                                 int64_t params_after) {
  compress_checks::CheckShape("compression report", "compressed weights", compressed.rows(),
                              compressed.cols(), original.rows(), original.cols(),
                              "the original's shape");
  CompressionReport report =
      Sum(original.rows(), original.cols(), [&](Eigen::Index r, Eigen::Index c, Eigen::Index n) {
        return std::pair(original.row(r).segment(c, n).array(),
                         compressed.row(r).segment(c, n).array());
      });
  report.params_after = params_after;
  return report;
}

CompressionReport MaskedWeightsReport(ConstWeightRef weights, ConstWeightRef keep) {
  compress_checks::CheckShape("compression report", "keep matrix", keep.rows(), keep.cols(),
                              weights.rows(), weights.cols(), "the weights' shape");
  CompressionReport report =
      Sum(weights.rows(), weights.cols(), [&](Eigen::Index r, Eigen::Index c, Eigen::Index n) {
        const auto before = weights.row(r).segment(c, n).array();
        return std::pair(before, before * keep.row(r).segment(c, n).array());
      });
  report.params_after = report.params_before - report.zeros;
  return report;
}

}  // namespace hwnas
