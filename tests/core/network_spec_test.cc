#include "core/network_spec.h"

#include <gtest/gtest.h>

namespace hwnas {
namespace {

// Shapes, MACs and parameters worked out by hand.
TEST(Layer, ConvShapesMacsAndParams) {
  Layer conv{LayerOp::kConv, 16, 32, 3, 2, 1, 1, 32, {}};
  EXPECT_EQ(conv.HOut(), 16);  // (32 + 2 - 3) / 2 + 1
  EXPECT_EQ(conv.Macs(), int64_t{16} * 16 * 32 * 16 * 9);
  EXPECT_EQ(conv.Params(), int64_t{32} * 16 * 9);
  Layer depthwise{LayerOp::kConv, 16, 16, 3, 1, 16, 1, 8, {}};
  EXPECT_EQ(depthwise.HOut(), 8);
  EXPECT_EQ(depthwise.Macs(), int64_t{8} * 8 * 16 * 1 * 9);
  EXPECT_EQ(depthwise.Params(), int64_t{16} * 9);
}

TEST(Layer, OtherOps) {
  Layer linear{LayerOp::kLinear, 64, 10, 1, 1, 1, 0, 1, {}};
  EXPECT_EQ(linear.HOut(), 1);
  EXPECT_EQ(linear.Macs(), 640);
  EXPECT_EQ(linear.Params(), 650);  // weights and bias
  Layer gap{LayerOp::kGlobalAvgPool, 64, 64, 8, 1, 1, 0, 8, {}};
  EXPECT_EQ(gap.HOut(), 1);
  EXPECT_EQ(gap.Macs(), 8 * 8 * 64);
  EXPECT_EQ(gap.Params(), 0);
  Layer bn{LayerOp::kBatchNorm, 8, 8, 1, 1, 1, 0, 4, {}};
  EXPECT_EQ(bn.HOut(), 4);
  EXPECT_EQ(bn.Params(), 16);
  Layer pool{LayerOp::kAvgPool, 8, 8, 2, 2, 1, 0, 8, {}};
  EXPECT_EQ(pool.HOut(), 4);
  EXPECT_EQ(pool.Macs(), 4 * 4 * 8 * 4);
}

TEST(NetworkSpec, SumsItsLayers) {
  NetworkSpec spec;
  spec.layers = {{LayerOp::kConv, 3, 8, 3, 1, 1, 1, 4, {}},
                 {LayerOp::kLinear, 8, 2, 1, 1, 1, 0, 1, {}}};
  EXPECT_EQ(spec.Macs(), 4 * 4 * 8 * 3 * 9 + 16);
  EXPECT_EQ(spec.Params(), 8 * 3 * 9 + 18);
}

TEST(Names, OpAndPatternNames) {
  EXPECT_EQ(LayerOpName(LayerOp::kGlobalAvgPool), "gap");
  EXPECT_EQ(SparsityPatternName(SparsityPattern::kNofM), "n:m");
  EXPECT_TRUE(LayerPolicy{}.IsDense());
}

}  // namespace
}  // namespace hwnas
