// Every bad argument of the compress functions is a ConfigError of one line that names the
// technique, the parameter, its value and the valid range.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "compress/fake_quant.h"
#include "compress/low_rank.h"
#include "compress/prune.h"
#include "compress/quantize.h"
#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

struct BadInput {
  std::string name;
  std::function<void()> call;
  std::string message;  // the whole message
};

const WeightMatrix kWeights = WeightMatrix::Ones(4, 6);
const WeightMatrix kEmpty(0, 6);

std::vector<BadInput> Cases() {
  const Eigen::ArrayXf x = Eigen::ArrayXf::Ones(4);
  const QuantGrid grid = MakeQuantGrid(-1, 1, 8, QuantScheme::kAffine);
  return {
      {"bits below range", [] { QuantizeWeights(kWeights, {.bits = 1}); },
       "quantization: bits = 1 is outside the valid range [2, 16]"},
      {"bits above range", [] { QuantizeWeights(kWeights, {.bits = 17}); },
       "quantization: bits = 17 is outside the valid range [2, 16]"},
      {"grid bits", [] { MakeQuantGrid(0, 1, 32, QuantScheme::kSymmetric); },
       "quantization: bits = 32 is outside the valid range [2, 16]"},
      {"grid min above max", [] { MakeQuantGrid(2, 1, 8, QuantScheme::kAffine); },
       "quantization: range min = 2 is above max = 1"},
      {"non-finite weights", [] {
         WeightMatrix w = kWeights;
         w(1, 2) = std::nanf("");
         QuantizeWeights(w, {.granularity = QuantGranularity::kPerChannel});
       },
       "quantization: range [nan, nan] is not finite (a NaN or infinite value among the "
       "quantized ones)"},
      {"empty weights", [] { QuantizeWeights(kEmpty, {}); },
       "quantization: empty weights (0 x 6); need at least one element"},
      {"empty clip search", [] { MseClippedGrid(kEmpty, 4, QuantScheme::kAffine); },
       "quantization: empty values (0 x 6); need at least one element"},
      {"x_hat size", [=] {
         Eigen::ArrayXf out(3);
         FakeQuantize(x, grid, out);
       },
       "quantization: shape of x_hat is 3 x 1; expected 4 x 1 (the size of x)"},
      {"grid count", [=] {
         WeightMatrix out(4, 6);
         const std::vector<QuantGrid> grids(3, grid);
         FakeQuantizeRows(kWeights, grids, out);
       },
       "quantization: 3 grids for 4 rows; give 1 (per tensor) or one per row (per channel)"},
      {"rows x_hat shape", [=] {
         WeightMatrix out(4, 5);
         FakeQuantizeRows(kWeights, std::vector<QuantGrid>{grid}, out);
       },
       "quantization: shape of x_hat is 4 x 5; expected 4 x 6 (the weights' shape)"},
      {"ste upstream size", [=] {
         Eigen::ArrayXf gradient(4);
         StraightThroughGradient(x, grid, Eigen::ArrayXf::Ones(5), gradient);
       },
       "fake quantization: shape of upstream gradient is 5 x 1; expected 4 x 1 (the size of x)"},
      {"ste rows gradient shape", [=] {
         WeightMatrix gradient(3, 6);
         StraightThroughGradientRows(kWeights, std::vector<QuantGrid>{grid}, kWeights, gradient);
       },
       "fake quantization: shape of gradient is 3 x 6; expected 4 x 6 (the weights' shape)"},
      {"activation bits", [] { ActivationQuantizer(0); },
       "fake quantization: bits = 0 is outside the valid range [2, 16]"},
      {"activation momentum", [] { ActivationQuantizer(8, QuantScheme::kAffine, 1.0); },
       "fake quantization: momentum = 1 is outside the valid range [0, 1)"},
      {"activation empty batch", [] { ActivationQuantizer(8).Observe(Eigen::ArrayXf()); },
       "fake quantization: empty activations (0 x 1); need at least one element"},
      {"activation grid before observe", [] { ActivationQuantizer(8).grid(); },
       "fake quantization: the activation range is unknown; Observe a training batch (or "
       "SetRange from a saved model) before quantizing"},
      {"sparsity 1", [] { MagnitudePrune(kWeights, 1.0); },
       "magnitude pruning: sparsity = 1 is outside the valid range [0, 1)"},
      {"sparsity negative", [] { MagnitudePrune(kWeights, -0.1); },
       "magnitude pruning: sparsity = -0.1 is outside the valid range [0, 1)"},
      {"sparsity nan", [] { MagnitudePrune(kWeights, std::nan("")); },
       "magnitude pruning: sparsity = nan is outside the valid range [0, 1)"},
      {"prune empty", [] { MagnitudePrune(kEmpty, 0.5); },
       "magnitude pruning: empty weights (0 x 6); need at least one element"},
      {"global no layers", [] { GlobalMagnitudePrune({}, 0.5); },
       "magnitude pruning: number of layers = 0 is outside the valid range [1, inf)"},
      {"global empty layer", [] {
         const std::vector<ConstWeightRef> layers{kWeights, kEmpty};
         GlobalMagnitudePrune(layers, 0.5);
       },
       "magnitude pruning: empty weights (0 x 6); need at least one element"},
      {"N above M", [] { NofMPrune(kWeights, 5, 4); },
       "N:M pruning: N = 5 is outside the valid range [1, 4]"},
      {"N zero", [] { NofMPrune(kWeights, 0, 4); },
       "N:M pruning: N = 0 is outside the valid range [1, 4]"},
      {"M zero", [] { NofMPrune(kWeights, 1, 0); },
       "N:M pruning: M = 0 is outside the valid range [1, inf)"},
      {"N:M empty", [] { NofMPrune(kEmpty, 2, 4); },
       "N:M pruning: empty weights (0 x 6); need at least one element"},
      {"channel sparsity", [] { ChannelPrune(kWeights, 1.5); },
       "channel pruning: sparsity = 1.5 is outside the valid range [0, 1)"},
      {"channel empty", [] { ChannelPrune(kEmpty, 0.5); },
       "channel pruning: empty weights (0 x 6); need at least one element"},
      {"kernel area", [] { ShrinkInputChannels(kWeights, std::vector<int>{0}, 0); },
       "channel pruning: kernel_area = 0 is outside the valid range [1, inf)"},
      {"columns not a multiple", [] { ShrinkInputChannels(kWeights, std::vector<int>{0}, 4); },
       "channel pruning: the next layer's 6 input columns are not a multiple of kernel_area = 4"},
      {"kept out of range", [] { ShrinkInputChannels(kWeights, std::vector<int>{0, 3}, 2); },
       "channel pruning: kept channel = 3 is outside the valid range [0, 2] (the next layer's "
       "input channels)"},
      {"kept not ascending", [] { ShrinkInputChannels(kWeights, std::vector<int>{2, 1}, 2); },
       "channel pruning: kept channels must be strictly ascending; 1 follows 2"},
      {"kept empty", [] { ShrinkInputChannels(kWeights, std::vector<int>{}, 2); },
       "channel pruning: number of kept channels = 0 is outside the valid range [1, inf)"},
      {"mask values", [] { Mask(WeightMatrix::Constant(2, 2, 0.5f)); },
       "pruning mask: keep must hold only 0 (pruned) and 1 (kept)"},
      {"mask empty", [] { Mask(WeightMatrix(0, 3)); },
       "pruning mask: empty keep matrix (0 x 3); need at least one element"},
      {"mask weights shape", [] {
         WeightMatrix w(4, 5);
         Mask(kWeights).Apply(w);
       },
       "pruning mask: shape of weights is 4 x 5; expected 4 x 6 (the mask's shape)"},
      {"mask gradient shape", [] {
         WeightMatrix g(3, 6);
         Mask(kWeights).ApplyToGradient(g);
       },
       "pruning mask: shape of gradient is 3 x 6; expected 4 x 6 (the mask's shape)"},
      {"schedule final", [] { CubicSparsitySchedule({.final_sparsity = 1}); },
       "sparsity schedule: final_sparsity = 1 is outside the valid range [0, 1)"},
      {"schedule initial above final",
       [] { CubicSparsitySchedule({.initial_sparsity = 0.6, .final_sparsity = 0.5}); },
       "sparsity schedule: initial_sparsity = 0.6 is outside the valid range [0, final_sparsity "
       "= 0.5]"},
      {"schedule steps", [] { CubicSparsitySchedule({.pruning_steps = 0}); },
       "sparsity schedule: pruning_steps = 0 is outside the valid range [1, inf)"},
      {"schedule interval", [] { CubicSparsitySchedule({.interval = -3}); },
       "sparsity schedule: interval = -3 is outside the valid range [1, inf)"},
      {"schedule start", [] { CubicSparsitySchedule({.start_step = -1}); },
       "sparsity schedule: start_step = -1 is outside the valid range [0, inf)"},
      {"rank 0", [] { LowRankFactorize(kWeights, 0); },
       "low rank: rank = 0 is outside the valid range [1, 4]"},
      {"rank above full", [] { LowRankFactorize(kWeights, 5); },
       "low rank: rank = 5 is outside the valid range [1, 4]"},
      {"rank ratio 0", [] { LowRankFactorizeByRatio(kWeights, 0); },
       "low rank: ratio = 0 is outside the valid range (0, 1]"},
      {"rank ratio above 1", [] { RankForRatio(1.5, 10); },
       "low rank: ratio = 1.5 is outside the valid range (0, 1]"},
      {"energy threshold", [] { LowRankFactorizeByEnergy(kWeights, 1.2); },
       "low rank: energy threshold = 1.2 is outside the valid range (0, 1]"},
      {"low rank empty", [] { LowRankFactorize(kEmpty, 1); },
       "low rank: empty weights (0 x 6); need at least one element"},
      {"report shapes", [] { CompareWeights(kWeights, WeightMatrix::Ones(4, 5), 0); },
       "compression report: shape of compressed weights is 4 x 5; expected 4 x 6 (the "
       "original's shape)"},
  };
}

TEST(CompressBadInput, EachCaseThrowsItsOneLineMessage) {
  for (const auto& c : Cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(test::ThrowsWith<ConfigError>(c.call, {c.message}));
    try {
      c.call();
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

}  // namespace
}  // namespace hwnas
