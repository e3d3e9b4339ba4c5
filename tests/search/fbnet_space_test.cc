#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/errors.h"
#include "core/rng.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

std::unique_ptr<SearchSpace> FbnetSpace(const std::string& dataset) {
  return LoadSearchSpace(SourcePath("configs/spaces/fbnet-" + dataset + ".yaml"));
}

const char* const kAllSkip =
    "skip|skip-skip-skip-skip|skip-skip-skip-skip|skip-skip-skip-skip|"
    "skip-skip-skip-skip|skip-skip-skip-skip|skip";

TEST(FbnetSpace, KnobsAreTheReferenceTablesColumns) {
  const auto space = FbnetSpace("cifar100");
  EXPECT_EQ(space->name(), "fbnet-cifar100");
  ASSERT_EQ(space->knobs().size(), 22u);
  EXPECT_EQ(space->knobs()[0].name, "b00");
  EXPECT_EQ(space->knobs()[21].name, "b21");
  EXPECT_EQ(JoinNames(space->knobs()[7].choices),
            "k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip");
  EXPECT_DOUBLE_EQ(space->Size(), std::pow(9.0, 22));
}

TEST(FbnetSpace, CanonicalStringsRoundTrip) {
  for (const std::string dataset : {"cifar100", "imagenet"}) {
    const auto space = FbnetSpace(dataset);
    Rng rng(7);
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
      const Candidate c = space->Sample(rng);
      const std::string text = space->Format(c);
      ASSERT_EQ(space->Parse(text), c) << text;
      seen.insert(text);
    }
    EXPECT_EQ(seen.size(), 2000u);
  }
  const auto space = FbnetSpace("cifar100");
  EXPECT_EQ(space->Format(space->Parse(kAllSkip)), kAllSkip);
}

TEST(FbnetSpace, ParseErrorsSayWhatIsWrong) {
  const auto space = FbnetSpace("cifar100");
  const std::string all = std::string(kAllSkip);
  auto parse = [&](std::string text) { return [&space, text] { space->Parse(text); }; };
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      parse("k7_e1" + all.substr(4)),
      {"fbnet architecture 'k7_e1|", "layer 0: unknown block 'k7_e1'",
       "each block one of k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>(parse("skip-" + all.substr(5)), {"expected '|' after layer 0"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(parse(all.substr(0, all.size() - 5)),
                                      {"expected '|' after layer 20"}));
  EXPECT_TRUE(
      ThrowsWith<ConfigError>(parse(all + "|skip"), {"unexpected text after the last block"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(parse(""), {"layer 0: unknown block ''"}));
}

// MACs (Layer::Macs: BN, ReLU, adds and pools count one per output element) of the all-skip
// cifar100 network, term by term from fbnet_macro.txt. Only the six stage-opening Skips that
// change channels or stride have layers (1x1 conv + BN + ReLU); the rest are identities.
TEST(FbnetSpace, MacsOfTheAllSkipNetworkByHand) {
  const auto space = FbnetSpace("cifar100");
  const NetworkSpec spec = space->Expand(space->Parse(kAllSkip));
  auto conv_bn_relu = [](int64_t out_size, int64_t cin, int64_t cout, int64_t kernel) {
    return out_size * out_size * cout * (cin * kernel * kernel + 2);
  };
  const int64_t expected = conv_bn_relu(32, 3, 16, 3)       // stem, 3x3
                           + conv_bn_relu(32, 16, 24, 1)    // layer 1, stride 1
                           + conv_bn_relu(16, 24, 32, 1)    // layer 5, stride 2
                           + conv_bn_relu(8, 32, 64, 1)     // layer 9, stride 2
                           + conv_bn_relu(8, 64, 112, 1)    // layer 13, stride 1
                           + conv_bn_relu(4, 112, 184, 1)   // layer 17, stride 2
                           + conv_bn_relu(4, 184, 352, 1)   // layer 21, stride 1
                           + conv_bn_relu(4, 352, 1504, 1)  // header
                           + 4 * 4 * 1504                   // global average pool
                           + 1504 * 100;                    // classifier
  EXPECT_EQ(expected, 11'819'136);
  EXPECT_EQ(spec.Macs(), expected);
  EXPECT_EQ(spec.layers.size(), 8u * 3 + 2);
  EXPECT_EQ(spec.CostEntries().size(), 26u);  // stem, 22 blocks, header, pool, classifier
}

// One ConvBlock by hand: layer 1 of all-k5_e6, 16 -> 24 channels at 32x32, expansion 6 (96),
// depthwise 5x5, stride 1; no residual since the channels change.
TEST(FbnetSpace, MacsOfOneConvBlockByHand) {
  const auto space = FbnetSpace("cifar100");
  const std::string stage = "k5_e6-k5_e6-k5_e6-k5_e6";
  const NetworkSpec spec = space->Expand(space->Parse("k5_e6|" + stage + "|" + stage + "|" + stage +
                                                      "|" + stage + "|" + stage + "|k5_e6"));
  const LayerGroup block = spec.CostEntries()[2];
  EXPECT_EQ(block.signature, "ConvBlock_H32_W32_Cin16_Cout24_exp6_kernel5_stride1_group1");
  ASSERT_EQ(block.layer_count, 8);  // 1x1, BN, ReLU, depthwise, BN, ReLU, 1x1, BN
  int64_t macs = 0;
  for (int i = 0; i < block.layer_count; ++i) macs += spec.layers[block.first_layer + i].Macs();
  const int64_t pixels = 32 * 32;
  EXPECT_EQ(macs, pixels * 96 * 16 + 2 * pixels * 96        // 1x1 expand, BN, ReLU
                      + pixels * 96 * 25 + 2 * pixels * 96  // depthwise 5x5, BN, ReLU
                      + pixels * 24 * 96 + pixels * 24);    // 1x1 project, BN
  // Layer 2 keeps 24 channels at stride 1: the block ends in a residual add.
  const LayerGroup next = spec.CostEntries()[3];
  EXPECT_EQ(next.layer_count, 9);
  const Layer& add = spec.layers[next.first_layer + 8];
  EXPECT_EQ(add.op, LayerOp::kAdd);
  EXPECT_EQ(add.residual_from, next.first_layer);
}

TEST(FbnetSpace, ImagenetNetwork) {
  const auto space = FbnetSpace("imagenet");
  const NetworkSpec spec = space->Expand(space->Parse(kAllSkip));
  EXPECT_EQ(spec.in_size, 224);
  EXPECT_EQ(spec.classes, 1000);
  const auto entries = spec.CostEntries();
  EXPECT_EQ(entries.front().signature, "ConvNorm_H224_W224_Cin3_Cout16_kernel3_stride2_group1");
  EXPECT_EQ(entries[2].signature, "Skip_H112_W112_Cin16_Cout24_stride2");
  EXPECT_EQ(entries[24].signature, "AvgP_H7_W7_Cin1984_Cout1984_kernel7_stride1");
  EXPECT_EQ(entries[25].signature, "FC_Cin1984_Cout1000");
}

TEST(FbnetSpace, ConfigErrors) {
  TempDir dir;
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        LoadSearchSpace(dir.Write("fixture_dataset.yaml", "kind: fbnet\ndataset: cifar10\n"));
      },
      {"fixture_dataset.yaml:2: dataset: unknown value 'cifar10'; valid: cifar100, imagenet"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] {
        LoadSearchSpace(dir.Write("fixture_blocks.yaml",
                                  "kind: fbnet\ndataset: cifar100\nblocks: [skip, k7_e6]\n"));
      },
      {"fixture_blocks.yaml:3: blocks[1]: unknown block 'k7_e6'; valid: k3_e1, "}));
  const auto small = LoadSearchSpace(
      dir.Write("fixture_small.yaml", "kind: fbnet\ndataset: cifar100\nblocks: [skip, k3_e6]\n"));
  EXPECT_EQ(small->Size(), std::pow(2.0, 22));
  EXPECT_EQ(small->Parse(kAllSkip).choices, std::vector<int>(22, 0));
}

}  // namespace
}  // namespace hwnas
