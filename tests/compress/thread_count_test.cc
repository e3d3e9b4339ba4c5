// The compress functions split work over rows with oneTBB, yet their results must not depend
// on the thread count: training and search runs reproduce at any count.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <vector>

#include "compress/low_rank.h"
#include "compress/prune.h"
#include "compress/quantize.h"
#include "compress_test_util.h"

namespace hwnas {
namespace {

// Everything the functions return, flattened, computed with at most `threads` threads.
std::vector<double> Results(int threads) {
  const tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  const WeightMatrix w = test::RandomWeights(96, 300, 1, test::Distribution::kStudentT3);
  std::vector<double> out;
  auto add_report = [&](const CompressionReport& r) {
    out.insert(out.end(),
               {static_cast<double>(r.zeros), r.squared_error, r.energy_before, r.energy_after});
  };
  for (auto granularity : {QuantGranularity::kPerTensor, QuantGranularity::kPerChannel}) {
    const QuantizedWeights q =
        QuantizeWeights(w, {.bits = 3, .granularity = granularity, .clip = ClipMethod::kMse});
    out.insert(out.end(), q.values.data(), q.values.data() + q.values.size());
    add_report(q.report);
  }
  const WeightMatrix half = 0.5f * w;
  const std::vector<ConstWeightRef> layers{w, half};
  for (const auto& result : GlobalMagnitudePrune(layers, 0.7)) add_report(result.report);
  add_report(NofMPrune(w, 2, 4).report);
  add_report(LowRankFactorize(w, 10).report);
  return out;
}

TEST(CompressThreadCount, ResultsAreTheSameWithOneThreadOrMany) {
  EXPECT_EQ(Results(1), Results(4));
}

}  // namespace
}  // namespace hwnas
