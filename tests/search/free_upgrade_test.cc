// Free upgrades (search/free_upgrade.h): on a device that charges for nothing a policy change
// does, every layer ends at its most faithful policy; on one that charges for every bit, nothing
// changes; on the shipped host-cpu model the upgrade of a real front member costs no more and
// keeps more of every layer. NSGA-II proposes front members' upgrades.
#include "search/free_upgrade.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/rng.h"
#include "hwmodels/device_model.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;

std::unique_ptr<SearchSpace> FmnistSpace() {
  return LoadSearchSpace(SourcePath("configs/spaces/fmnist.yaml"));
}

// A fixture cost on one device: the sum over layers of `bit_cost(w_bits, a_bits)`.
CostOracle FixtureBitCost(const SearchSpace& space, int (*bit_cost)(int, int)) {
  return [&space, bit_cost](const Candidate& c) {
    double cost = 0;
    for (const Layer& layer : space.Expand(c).layers) {
      cost += bit_cost(layer.policy.w_bits, layer.policy.a_bits);
    }
    return CostPreview{{Objectives{cost}}, 0.0};
  };
}

// Bits below 8 run at 8 (like host-cpu's int8); sparsity and rank cost nothing.
int Int8Floor(int w_bits, int a_bits) { return std::max(w_bits, 8) * std::max(a_bits, 8); }
// Every bit costs (like BitFusion's bit-serial arithmetic).
int EveryBit(int w_bits, int a_bits) { return w_bits * a_bits; }

TEST(FreeUpgrade, TakesEveryPolicyToWhatTheDeviceChargesTheSameFor) {
  const auto space = FmnistSpace();
  const CostOracle costs = FixtureBitCost(*space, Int8Floor);
  Rng rng(3);
  for (int i = 0; i < 20; ++i) {
    const Candidate c = space->Sample(rng);
    const Candidate upgraded = FreeUpgrade(*space, c, 0, costs);
    ASSERT_TRUE(space->IsValid(upgraded));
    const auto before = space->Expand(c).layers;
    const auto after = space->Expand(upgraded).layers;
    ASSERT_EQ(before.size(), after.size());
    for (size_t l = 0; l < before.size(); ++l) {
      const LayerPolicy& p = before[l].policy;
      const LayerPolicy& q = after[l].policy;
      EXPECT_EQ(q.w_bits, std::max(p.w_bits, 8)) << space->Format(c) << " layer " << l;
      EXPECT_EQ(q.a_bits, std::max(p.a_bits, 8)) << space->Format(c) << " layer " << l;
      EXPECT_EQ(q.sparsity, 0.0);
      EXPECT_EQ(q.rank_ratio, 1.0);
    }
    EXPECT_EQ((*costs(upgraded).per_device[0])[0], (*costs(c).per_device[0])[0]);
  }
}

TEST(FreeUpgrade, ChangesNoBitsWhereEveryBitCosts) {
  const auto space = FmnistSpace();
  const CostOracle costs = FixtureBitCost(*space, EveryBit);
  Rng rng(4);
  for (int i = 0; i < 20; ++i) {
    const Candidate c = space->Sample(rng);
    const auto before = space->Expand(c).layers;
    const auto after = space->Expand(FreeUpgrade(*space, c, 0, costs)).layers;
    for (size_t l = 0; l < before.size(); ++l) {
      EXPECT_EQ(after[l].policy.w_bits, before[l].policy.w_bits);
      EXPECT_EQ(after[l].policy.a_bits, before[l].policy.a_bits);
    }
  }
}

// The most accurate host-cpu member of the default fmnist run (2026-11-28), with 2-bit weights
// and 4-bit activations in eight layers.
constexpr const char* kDefaultRunMember =
    "stem.width=8;stem=w6a8-u50;s1.depth=4;s1.width=8;s1.b1.k=7;s1.b1.e=2;s1.b1.exp=w6a8-r1/2;"
    "s1.b1.dw=w32a32-c50;s1.b1.proj=w32a32;s1.b2.k=3;s1.b2.e=1;s1.b2.dw=w6a8-u50;"
    "s1.b2.proj=w8a8-u50-r1/2;s1.b3.k=7;s1.b3.e=1;s1.b3.dw=w2a4;s1.b3.proj=w2a4;s1.b4.k=3;"
    "s1.b4.e=6;s1.b4.exp=w6a8-u50-r1/2;s1.b4.dw=w2a4;s1.b4.proj=w6a8-u50-r1/2;s2.depth=4;"
    "s2.width=16;s2.b1.k=7;s2.b1.e=1;s2.b1.dw=w6a8-u50;s2.b1.proj=w32a32-u50;s2.b2.k=3;"
    "s2.b2.e=1;s2.b2.dw=w6a8-u50;s2.b2.proj=w6a32-c50-r1/2;s2.b3.k=3;s2.b3.e=6;"
    "s2.b3.exp=w6a8-u50-r1/2;s2.b3.dw=w2a4;s2.b3.proj=w8a8-u50-r1/2;s2.b4.k=7;s2.b4.e=6;"
    "s2.b4.exp=w6a8-u50-r1/2;s2.b4.dw=w2a4;s2.b4.proj=w2a4;s3.depth=4;s3.width=32;s3.b1.k=7;"
    "s3.b1.e=6;s3.b1.exp=w6a8-u50-r1/2;s3.b1.dw=w6a8-u50;s3.b1.proj=w6a8-r1/2;s3.b2.k=7;"
    "s3.b2.e=1;s3.b2.dw=w6a8-u50;s3.b2.proj=w32a32;s3.b3.k=7;s3.b3.e=6;"
    "s3.b3.exp=w6a8-u50-r1/2;s3.b3.dw=w2a4;s3.b3.proj=w6a8-u50-r1/2;s3.b4.k=3;s3.b4.e=4;"
    "s3.b4.exp=w6a8-u50-r1/2;s3.b4.dw=w6a8-u50;s3.b4.proj=w2a4;fc=w32a32";

TEST(FreeUpgrade, OnTheShippedHostModelKeepsMoreOfEveryLayerAtNoMoreLatency) {
  const auto space = FmnistSpace();
  const auto host = LoadDeviceModel(SourcePath("configs/devices/host-cpu.yaml"));
  const CostOracle costs = [&](const Candidate& c) {
    const DeviceCost cost = host->Cost(space->Expand(c));
    return CostPreview{{Objectives{cost.latency_ms}}, 0.0};
  };
  const Candidate member = space->Parse(kDefaultRunMember);
  const Candidate upgraded = FreeUpgrade(*space, member, 0, costs);
  const double before = (*costs(member).per_device[0])[0];
  const double after = (*costs(upgraded).per_device[0])[0];
  EXPECT_LE(after, before * (1 + 1e-9));
  const auto old_layers = space->Expand(member).layers;
  const auto new_layers = space->Expand(upgraded).layers;
  int two_bit_weights = 0;
  for (size_t l = 0; l < old_layers.size(); ++l) {
    const LayerPolicy& p = old_layers[l].policy;
    const LayerPolicy& q = new_layers[l].policy;
    EXPECT_GE(q.w_bits, p.w_bits);
    EXPECT_GE(q.a_bits, p.a_bits);
    EXPECT_LE(q.sparsity, p.sparsity);
    EXPECT_GE(q.rank_ratio, p.rank_ratio);
    two_bit_weights += q.w_bits == 2;
  }
  // int8 is host-cpu's narrowest arithmetic: 2-bit weights buy it nothing.
  EXPECT_EQ(two_bit_weights, 0) << space->Format(upgraded);
  std::cout << "upgraded: " << space->Format(upgraded) << "\n  latency " << before << " -> "
            << after << " ms\n";
}

// With every child a free upgrade while any is left, NSGA-II's second batch is the upgrades of
// the first batch's front members (on a fixture accuracy that rewards bits).
TEST(FreeUpgrade, Nsga2ProposesTheUpgradesOfFrontMembers) {
  const auto space = FmnistSpace();
  const CostOracle costs = FixtureBitCost(*space, Int8Floor);
  auto fixture_accuracy = [&](const Candidate& c) {
    double bits = 0;
    for (const Layer& layer : space->Expand(c).layers) {
      bits += std::min(layer.policy.w_bits, 8) * (1 - layer.policy.sparsity);
    }
    return bits;
  };
  SamplerOptions options;
  options.kind = "nsga2";
  options.population = 8;
  options.upgrade_rate = 1;
  const auto sampler = MakeSampler(options, *space, 5, costs);
  const std::vector<Candidate> first = sampler->Ask(8);
  std::vector<Observation> told;
  std::vector<Objectives> points;
  for (const Candidate& c : first) {
    Observation o{c, fixture_accuracy(c), {}, 0.0};
    o.per_device.push_back(Objectives{-*o.accuracy, (*costs(c).per_device[0])[0]});
    points.push_back(*o.per_device[0]);
    told.push_back(o);
  }
  sampler->Tell(told);
  std::set<std::string> upgrades;
  for (int member : ParetoFront(points)) {
    const Candidate upgraded = FreeUpgrade(*space, first[member], 0, costs);
    if (upgraded != first[member]) upgrades.insert(space->Format(upgraded));
  }
  ASSERT_FALSE(upgrades.empty());
  const std::vector<Candidate> second = sampler->Ask(8);
  size_t proposed_upgrades = 0;
  for (const Candidate& c : second) proposed_upgrades += upgrades.count(space->Format(c));
  EXPECT_EQ(proposed_upgrades, std::min<size_t>(upgrades.size(), 8));
}

}  // namespace
}  // namespace hwnas
