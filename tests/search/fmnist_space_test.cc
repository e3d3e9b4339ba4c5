// The `fmnist` space (search/fmnist_space.cc): sampled, mutated and crossed candidates are valid
// and round-trip through their canonical strings; the rules filter every layer's policies; Size()
// counts the candidates a brute-force enumeration finds; Expand gives the MACs worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/rng.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::TempDir;
using test::ThrowsWith;

std::unique_ptr<SearchSpace> ShippedSpace() {
  return LoadSearchSpace(SourcePath("configs/spaces/fmnist.yaml"));
}

// A small space: one stem width, two kernels, and a rule that gives layer kinds different
// numbers of policies:
//   stem, depthwise               w8a32, w32a32                      (rank 1 only)   2
//   expand, project, classifier   w8a32, w8a32-r1/2, w32a32, w32a32-r1/2              4
// Stage 3 has depth 1 or 2; stage 2 two widths; kernels 3 and 5; expansions 1 and 2.
constexpr const char* kTinySpace = R"(kind: fmnist
name: tiny
classes: 10
stem_widths: [4]
stages:
  - {depths: [1], widths: [4]}
  - {depths: [1], widths: [8, 12]}
  - {depths: [1, 2], widths: [8]}
kernels: [3, 5]
expansions: [1, 2]
policy:
  w_bits: [8, 32]
  a_bits: [32]
  sparsity: [0]
  pattern: [unstructured]
  rank: [1, 0.5]
rules:
  - {if: {layer: [stem, depthwise]}, then: {rank: [1]}}
)";

std::unique_ptr<SearchSpace> TinySpace(const TempDir& dir) {
  return LoadSearchSpace(dir.Write("tiny.yaml", kTinySpace));
}

int KnobIndex(const SearchSpace& space, const std::string& name) {
  for (size_t k = 0; k < space.knobs().size(); ++k) {
    if (space.knobs()[k].name == name) return static_cast<int>(k);
  }
  ADD_FAILURE() << "no knob " << name;
  return -1;
}

TEST(FmnistSpace, SampledMutatedAndCrossedCandidatesAreValidAndRoundTrip) {
  const auto space = ShippedSpace();
  Rng rng(11);
  std::vector<Candidate> pool;
  for (int i = 0; i < 50; ++i) pool.push_back(space->Sample(rng));
  std::set<std::string> seen;
  int checked = 0;
  auto check = [&](const Candidate& c, const char* how) {
    ASSERT_TRUE(space->IsValid(c)) << how << " " << space->Format(c);
    ASSERT_EQ(space->Canonical(c), c) << how;
    const std::string text = space->Format(c);
    ASSERT_EQ(space->Parse(text), c) << how << " " << text;
    seen.insert(text);
    ++checked;
  };
  for (int i = 0; i < 10000; ++i) {
    Candidate c;
    switch (i % 3) {
      case 0: c = space->Sample(rng); break;
      case 1: c = space->Mutate(pool[rng.Below(pool.size())], 0.1, rng); break;
      default: c = space->Crossover(pool[rng.Below(pool.size())], pool[rng.Below(pool.size())], rng);
    }
    check(c, i % 3 == 0 ? "sampled" : i % 3 == 1 ? "mutated" : "crossed");
    if (HasFatalFailure()) return;
    pool[rng.Below(pool.size())] = c;
  }
  EXPECT_EQ(checked, 10000);
  // The space holds ~1e80 candidates: collisions would mean the generators are stuck.
  EXPECT_GT(seen.size(), 9000u);
  check(space->Extreme(true), "largest");
  check(space->Extreme(false), "smallest");
}

TEST(FmnistSpace, MutationChangesTheNetwork) {
  const auto space = ShippedSpace();
  Rng rng(3);
  const Candidate parent = space->Sample(rng);
  for (int i = 0; i < 500; ++i) {
    const Candidate child = space->Mutate(parent, 0.05, rng);
    ASSERT_NE(space->Format(child), space->Format(parent));
  }
}

// The conv and linear layers' policies of a network, by layer name.
std::map<std::string, LayerPolicy> Policies(const SearchSpace& space, const Candidate& c) {
  std::map<std::string, LayerPolicy> policies;
  for (const Layer& l : space.Expand(c).layers) {
    if (l.op == LayerOp::kConv || l.op == LayerOp::kLinear) policies[l.name] = l.policy;
  }
  return policies;
}

// Every layer kind with a single policy, as joint_vs_single's "architecture only at fp32" cuts
// the space: sampling deviates from the nearest policy, and there is none other to go to.
TEST(FmnistSpace, ASpaceWithOnePolicyPerLayerSamplesMutatesAndCrosses) {
  TempDir dir;
  std::string yaml = kTinySpace;
  for (const auto& [from, to] :
       {std::pair{"w_bits: [8, 32]", "w_bits: [32]"}, {"rank: [1, 0.5]", "rank: [1]"}}) {
    yaml.replace(yaml.find(from), std::string(from).size(), to);
  }
  const auto space = LoadSearchSpace(dir.Write("fp32.yaml", yaml));
  Rng rng(5);
  std::vector<Candidate> pool;
  for (int i = 0; i < 300; ++i) {
    pool.push_back(space->Sample(rng));
    pool.push_back(space->Mutate(pool[rng.Below(pool.size())], 0.2, rng));
    const Candidate& a = pool[rng.Below(pool.size())];
    const Candidate& b = pool[rng.Below(pool.size())];
    pool.push_back(space->Crossover(a, b, rng));
  }
  std::set<std::string> networks;
  for (const Candidate& c : pool) {
    ASSERT_TRUE(space->IsValid(c)) << space->Format(c);
    for (const auto& [layer, policy] : Policies(*space, c)) {
      ASSERT_EQ(policy.w_bits, 32) << layer;
      ASSERT_EQ(policy.a_bits, 32) << layer;
      ASSERT_EQ(policy.rank_ratio, 1.0) << layer;
    }
    networks.insert(space->Format(c));
  }
  // Only the policies are fixed: widths, depths, kernels and expansions still vary.
  EXPECT_GT(networks.size(), 8u);
}

TEST(FmnistSpace, SamplesSpanUniformAndMixedPolicies) {
  // Independent uniform draws per layer would give a network whose every layer shares its bits
  // about never, and one whose every layer is mild never (1 in 64 of a 1x1 conv's policies);
  // the sampler's network-wide prior gives both often, and mixed networks most of the time.
  const auto space = ShippedSpace();
  Rng rng(11);
  constexpr int kSamples = 1000;
  int uniform_bits = 0, mild = 0, lossy = 0;
  for (int i = 0; i < kSamples; ++i) {
    std::set<std::pair<int, int>> bits;
    bool all_mild = true, all_lossy = true;
    for (const auto& [name, p] : Policies(*space, space->Sample(rng))) {
      bits.insert({p.w_bits, p.a_bits});
      all_mild = all_mild && p.w_bits >= 6 && p.a_bits >= 6 && p.sparsity == 0 && p.rank_ratio == 1;
      all_lossy = all_lossy && p.w_bits <= 3;
    }
    uniform_bits += bits.size() == 1;
    mild += all_mild;
    lossy += all_lossy;
  }
  EXPECT_GT(uniform_bits, kSamples / 10);
  EXPECT_LT(uniform_bits, kSamples / 2);
  // Every strength is drawn: 6+ bits, dense and full rank on every layer; 2 or 3 bits on every
  // layer.
  EXPECT_GT(mild, kSamples / 50);
  EXPECT_GT(lossy, kSamples / 10);
}

TEST(FmnistSpace, SamplesSpanNetworkSizes) {
  // Uniform draws per knob give no network in 1,000 above half the largest's MACs or below twice
  // the smallest's (measured); the network-wide size draw gives both often.
  const auto space = ShippedSpace();
  const double largest = static_cast<double>(space->Expand(space->Extreme(true)).Macs());
  const double smallest = static_cast<double>(space->Expand(space->Extreme(false)).Macs());
  Rng rng(13);
  constexpr int kSamples = 1000;
  int large = 0, small = 0;
  for (int i = 0; i < kSamples; ++i) {
    const double macs = static_cast<double>(space->Expand(space->Sample(rng)).Macs());
    large += macs >= largest / 2;
    small += macs <= 2 * smallest;
  }
  EXPECT_GT(large, kSamples / 10);
  EXPECT_GT(small, kSamples / 10);
}

TEST(FmnistSpace, APolicyMutatesByOneStepInOneDimension) {
  const auto space = ShippedSpace();
  const std::vector<int> w_bits = {2, 3, 4, 6, 8, 32}, a_bits = {4, 6, 8, 32};
  const std::vector<double> sparsity = {0, 0.5, 0.75, 0.9}, rank = {1, 0.5, 0.25};
  auto step = [](const auto& list, auto a, auto b) {
    const auto ia = std::find(list.begin(), list.end(), a) - list.begin();
    const auto ib = std::find(list.begin(), list.end(), b) - list.begin();
    return static_cast<int>(std::abs(ia - ib));
  };
  Rng rng(12);
  int policy_mutations = 0;
  for (int i = 0; i < 400; ++i) {
    const Candidate parent = space->Sample(rng);
    const Candidate child = space->Mutate(parent, 0, rng);  // exactly one knob changes
    const auto before = Policies(*space, parent), after = Policies(*space, child);
    if (space->Expand(parent).Macs() != space->Expand(child).Macs()) continue;  // an arch knob
    int changed_layers = 0;
    for (const auto& [name, p] : before) {
      const LayerPolicy& q = after.at(name);
      if (p == q) continue;
      ++changed_layers;
      ++policy_mutations;
      const int steps = step(w_bits, p.w_bits, q.w_bits) + step(a_bits, p.a_bits, q.a_bits) +
                        step(sparsity, p.sparsity, q.sparsity) +
                        step(rank, p.rank_ratio, q.rank_ratio) +
                        (p.sparsity > 0 && q.sparsity > 0 && p.pattern != q.pattern);
      EXPECT_EQ(steps, 1) << name << ": " << space->Format(parent) << " -> " << space->Format(child);
    }
    EXPECT_LE(changed_layers, 1);
  }
  EXPECT_GT(policy_mutations, 150);
}

TEST(FmnistSpace, RulesThatLeaveALayerKindNoPolicyAreAConfigError) {
  TempDir dir;
  std::string yaml = kTinySpace;
  yaml += "  - {if: {layer: [depthwise]}, then: {w_bits: [4]}}\n";
  const std::string path = dir.Write("empty.yaml", yaml);
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadSearchSpace(path); },
                                      {"empty.yaml", "rules leave no valid policy",
                                       "for depthwise layers", "the space is empty"}));
  // Without the rule the same file loads.
  EXPECT_NO_THROW(TinySpace(dir));
}

TEST(FmnistSpace, APolicyValueListedTwiceIsAConfigError) {
  TempDir dir;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"sparsity: [0]", "sparsity: [0, 0.5, 0.5]"}, {"rank: [1, 0.5]", "rank: [1, 0.5, 1]"}}) {
    std::string yaml = kTinySpace;
    yaml.replace(yaml.find(from), from.size(), to);
    const std::string path = dir.Write("twice.yaml", yaml);
    EXPECT_TRUE(ThrowsWith<ConfigError>([&] { LoadSearchSpace(path); },
                                        {"twice.yaml", "listed twice"}))
        << to;
  }
}

TEST(FmnistSpace, ParseRejectsInactiveMissingAndUnknownKnobs) {
  const auto space = ShippedSpace();
  // The smallest candidate: every stage depth 1, expansion 1 everywhere.
  const Candidate smallest = space->Extreme(false);
  const std::string text = space->Format(smallest);
  ASSERT_EQ(text.find("s1.b2."), std::string::npos) << text;
  ASSERT_EQ(text.find("s1.b1.exp="), std::string::npos) << text;  // expansion 1: no expand layer
  ASSERT_NE(text.find("s1.b1.k=3"), std::string::npos) << text;
  ASSERT_EQ(space->Parse(text), smallest);

  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(text + ";s1.b2.k=3"); },
                                      {"knob 's1.b2.k' has no effect here", "leave it out"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(text + ";s1.b1.exp=w8a8"); },
                                      {"knob 's1.b1.exp' has no effect here"}));
  // Drop the classifier's knob, the last one.
  const std::string without_fc = text.substr(0, text.rfind(";fc="));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(without_fc); },
                                      {"candidate '", "missing knob 'fc'"}));
  // A deeper stage makes the second block's knobs required.
  std::string deeper = text;
  deeper.replace(deeper.find("s2.depth=1"), 10, "s2.depth=2");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(deeper); }, {"missing knob 's2.b2.k'"}));
  // Unknown choices list the valid ones (long lists abbreviated).
  std::string wide = text;
  wide.replace(wide.find("stem.width=4"), 12, "stem.width=5");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(wide); },
                                      {"knob 'stem.width' has no choice '5'; valid: 4, 8"}));
  std::string kernel = text;
  kernel.replace(kernel.find("s3.b1.k=3"), 9, "s3.b1.k=9");
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(kernel); },
                                      {"knob 's3.b1.k' has no choice '9'; valid: 3, 5, 7"}));
  const std::string bad_policy = text.substr(0, text.rfind(";fc=")) + ";fc=w1a1";
  const auto& fc = space->knobs().back();
  ASSERT_EQ(fc.name, "fc");
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { space->Parse(bad_policy); },
      {"knob 'fc' has no choice 'w1a1'; valid: " + fc.choices[0] + ", ",
       "(" + std::to_string(fc.choices.size()) + " choices)"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(text + ";nope=1"); },
                                      {"unknown knob 'nope'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { space->Parse(text + ";fc=w8a8"); },
                                      {"knob 'fc' given twice"}));
}

// Size() by hand: a block is kernel (2) x [e=1: dw 2 x proj 4 = 8; e=2: exp 4 x dw 2 x proj 4
// = 32] = 80 candidates; the network stem 2 x fc 4 x s1 80 x s2 (2 widths x 80) x s3 (depth 1:
// 80, depth 2: 80^2).
TEST(FmnistSpace, SizeCountsTheValidCandidates) {
  TempDir dir;
  const auto space = TinySpace(dir);
  EXPECT_DOUBLE_EQ(space->Size(), 8.0 * 80 * 160 * (80 + 80 * 80));
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "stem")].choices.size(), 2u);
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "s1.b1.exp")].choices.size(), 4u);
  EXPECT_EQ(JoinNames(space->knobs()[KnobIndex(*space, "fc")].choices),
            "w8a32, w8a32-r1/2, w32a32, w32a32-r1/2");
  EXPECT_EQ(JoinNames(space->knobs()[KnobIndex(*space, "s2.b1.dw")].choices), "w8a32, w32a32");
}

// The same count by brute force on a space small enough: single policies for every kind.
TEST(FmnistSpace, SizeEqualsABruteForceCount) {
  TempDir dir;
  std::string yaml = kTinySpace;
  yaml.replace(yaml.find("kernels: [3, 5]"), 15, "kernels: [3]");
  // rank 0.5 for nobody: every kind has w8a32 and w32a32, 2 policies.
  yaml += "  - {if: {layer: [expand, project, classifier]}, then: {rank: [1]}}\n";
  const auto space = LoadSearchSpace(dir.Write("tiny2.yaml", yaml));
  // A block: kernel 1 x (e=1: dw 2 x proj 2 + e=2: exp 2 x dw 2 x proj 2) = 12.
  // Network: stem 2 x fc 2 x s1 12 x s2 (2 widths x 12) x s3 (12 + 12^2) = 4 x 12 x 24 x 156.
  const double expected = 4.0 * 12 * 24 * 156;
  EXPECT_DOUBLE_EQ(space->Size(), expected);
  // Enumerate the grid of knobs that can matter; every other knob stays at 0.
  std::vector<int> free;
  for (size_t k = 0; k < space->knobs().size(); ++k) {
    const std::string& name = space->knobs()[k].name;
    const bool beyond = (name.starts_with("s1.b") || name.starts_with("s2.b") ||
                         name.starts_with("s3.b")) &&
                        !(name.starts_with("s1.b1.") || name.starts_with("s2.b1.") ||
                          name.starts_with("s3.b1.") || name.starts_with("s3.b2."));
    if (!beyond && space->knobs()[k].choices.size() > 1) free.push_back(static_cast<int>(k));
  }
  // Each free knob has 2 choices here: stem, fc, s2.width, s3.depth and per block (of 4) e, exp,
  // dw and proj.
  ASSERT_EQ(free.size(), 4u + 4 * 4);
  std::set<std::string> distinct;
  int64_t valid = 0;
  Candidate c;
  c.choices.assign(space->knobs().size(), 0);
  for (uint64_t index = 0; index < (uint64_t{1} << free.size()); ++index) {
    for (size_t f = 0; f < free.size(); ++f) c.choices[free[f]] = static_cast<int>((index >> f) & 1);
    if (!space->IsValid(c)) continue;
    ++valid;
    if (valid % 97 == 0) distinct.insert(space->Format(c));  // spot check: formats differ
  }
  EXPECT_EQ(valid, static_cast<int64_t>(expected));
  EXPECT_EQ(distinct.size(), static_cast<size_t>((valid) / 97));
  // A knob beyond the depth at a non-zero choice is never valid.
  Candidate beyond = space->Extreme(false);
  beyond.choices[KnobIndex(*space, "s1.b3.k")] = 1;
  EXPECT_FALSE(space->IsValid(beyond));
}

TEST(FmnistSpace, EveryPolicyObeysTheRules) {
  const auto space = ShippedSpace();
  Rng rng(5);
  int nm = 0, low_rank = 0, layers = 0;
  for (int i = 0; i < 2000; ++i) {
    const NetworkSpec spec = space->Expand(space->Sample(rng));
    for (const Layer& l : spec.layers) {
      if (l.op != LayerOp::kConv && l.op != LayerOp::kLinear) {
        EXPECT_EQ(l.policy, LayerPolicy{}) << l.name;
        continue;
      }
      ++layers;
      const LayerPolicy& p = l.policy;
      if (p.sparsity > 0 && p.pattern == SparsityPattern::kNofM) {
        ++nm;
        EXPECT_EQ(p.sparsity, 0.5) << l.name;
        EXPECT_EQ(p.n_of_m_n, 2) << l.name;
        EXPECT_EQ(p.n_of_m_m, 4) << l.name;
      }
      if (p.rank_ratio < 1) {
        ++low_rank;
        const bool pointwise = l.op == LayerOp::kConv && l.kernel == 1 && l.groups == 1;
        EXPECT_TRUE(pointwise || l.op == LayerOp::kLinear) << l.name;
      }
      if (l.op == LayerOp::kLinear && p.sparsity > 0) {
        EXPECT_NE(p.pattern, SparsityPattern::kChannel) << l.name;
      }
      const std::set<int> w_bits = {2, 3, 4, 6, 8, 32}, a_bits = {4, 6, 8, 32};
      EXPECT_TRUE(w_bits.count(p.w_bits)) << l.name << " w" << p.w_bits;
      EXPECT_TRUE(a_bits.count(p.a_bits)) << l.name << " a" << p.a_bits;
      const std::set<double> sparsities = {0, 0.5, 0.75, 0.9}, ranks = {1, 0.5, 0.25};
      EXPECT_TRUE(sparsities.count(p.sparsity)) << l.name;
      EXPECT_TRUE(ranks.count(p.rank_ratio)) << l.name;
    }
  }
  // The checks above ran on many layers of each kind of interest.
  EXPECT_GT(layers, 20000);
  EXPECT_GT(nm, 500);
  EXPECT_GT(low_rank, 2000);
}

// The per-kind policy counts of the shipped space, from its lists and rules:
//   tuples: w 6 x a 4 x (dense 1 + sparse 3 x 3 patterns) 10 x rank 3 = 720; the 2:4 rule keeps
//   sparsity 0.5 only for 2:4, removing 2 of the 9 sparse tuples: 6 x 4 x 8 x 3 = 576.
//   stem, depthwise: rank 1 only: 192. classifier: no channel pattern: 6 x 4 x 5 x 3 = 360.
TEST(FmnistSpace, ShippedPolicyCounts) {
  const auto space = ShippedSpace();
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "stem")].choices.size(), 192u);
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "s1.b1.dw")].choices.size(), 192u);
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "s1.b1.exp")].choices.size(), 576u);
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "s1.b1.proj")].choices.size(), 576u);
  EXPECT_EQ(space->knobs()[KnobIndex(*space, "fc")].choices.size(), 360u);
  // Choice names are unique within a knob, or Parse could not tell them apart.
  for (const auto& knob : space->knobs()) {
    EXPECT_EQ(std::set<std::string>(knob.choices.begin(), knob.choices.end()).size(),
              knob.choices.size())
        << knob.name;
  }
}

// MACs of the tiny space's largest network (stage 3 depth 2, expansion 2 everywhere, kernel 5),
// layer by layer at batch 1 (conv: out pixels x cout x cin/groups x k^2; bn, relu6, add: out
// pixels x channels; pool: 49 x 8; linear 8 x 10):
// The supernet's cache key: sampling draws policies from the architecture's random stream, so
// a change to the policy lists alone must change the key, and an identical file must not.
TEST(FmnistSpace, ArchitectureKeyFollowsThePolicyLists) {
  const TempDir dir;
  const std::string key = TinySpace(dir)->ArchitectureKey();
  EXPECT_EQ(LoadSearchSpace(dir.Write("same.yaml", kTinySpace))->ArchitectureKey(), key);
  std::string more_bits = kTinySpace;
  more_bits.replace(more_bits.find("w_bits: [8, 32]"), 15, "w_bits: [4, 8, 32]");
  EXPECT_NE(LoadSearchSpace(dir.Write("bits.yaml", more_bits))->ArchitectureKey(), key);
  std::string full_rank = kTinySpace;
  full_rank.replace(full_rank.find("rank: [1, 0.5]"), 14, "rank: [1]");
  EXPECT_NE(LoadSearchSpace(dir.Write("rank.yaml", full_rank))->ArchitectureKey(), key);
}

TEST(FmnistSpace, LargestNetworkHasTheMacsWorkedOutByHand) {
  TempDir dir;
  const auto space = TinySpace(dir);
  const Candidate largest = space->Extreme(true);
  EXPECT_EQ(space->Format(largest),
            "stem.width=4;stem=w32a32;s1.depth=1;s1.width=4;s1.b1.k=5;s1.b1.e=2;"
            "s1.b1.exp=w32a32-r1/2;s1.b1.dw=w32a32;s1.b1.proj=w32a32-r1/2;"
            "s2.depth=1;s2.width=12;s2.b1.k=5;s2.b1.e=2;s2.b1.exp=w32a32-r1/2;s2.b1.dw=w32a32;"
            "s2.b1.proj=w32a32-r1/2;s3.depth=2;s3.width=8;s3.b1.k=5;s3.b1.e=2;"
            "s3.b1.exp=w32a32-r1/2;s3.b1.dw=w32a32;s3.b1.proj=w32a32-r1/2;s3.b2.k=5;s3.b2.e=2;"
            "s3.b2.exp=w32a32-r1/2;s3.b2.dw=w32a32;s3.b2.proj=w32a32-r1/2;fc=w32a32-r1/2");
  const NetworkSpec spec = space->Expand(largest);
  const int64_t stem = 784 * 4 * 1 * 9 + 2 * 784 * 4;               // conv 1->4 k3 at 28, bn, relu6
  const int64_t s1 = (784 * 8 * 4 + 2 * 784 * 8)                     // exp 4->8 at 28
                     + (784 * 8 * 25 + 2 * 784 * 8)                  // dw 8 k5 s1 at 28
                     + (784 * 4 * 8 + 784 * 4);                      // proj 8->4, bn
  const int64_t s2 = (784 * 8 * 4 + 2 * 784 * 8)                     // exp 4->8 at 28
                     + (196 * 8 * 25 + 2 * 196 * 8)                  // dw 8 k5 s2 -> 14
                     + (196 * 12 * 8 + 196 * 12);                    // proj 8->12
  const int64_t s3b1 = (196 * 24 * 12 + 2 * 196 * 24)                // exp 12->24 at 14
                       + (49 * 24 * 25 + 2 * 49 * 24)                // dw 24 k5 s2 -> 7
                       + (49 * 8 * 24 + 49 * 8);                     // proj 24->8
  const int64_t s3b2 = (49 * 16 * 8 + 2 * 49 * 16)                   // exp 8->16 at 7
                       + (49 * 16 * 25 + 2 * 49 * 16)                // dw 16 k5
                       + (49 * 8 * 16 + 49 * 8)                      // proj 16->8
                       + 49 * 8;                                     // add
  const int64_t head = 49 * 8 + 8 * 10;                              // pool, fc
  EXPECT_EQ(spec.Macs(), stem + s1 + s2 + s3b1 + s3b2 + head);
  EXPECT_EQ(spec.Macs(), 28224 + 6272 + 25088 + 12544 + 156800 + 12544 + 25088 + 3136 + 25088 +
                             12544 + 39200 + 3136 + 18816 + 2352 + 56448 + 9408 + 29400 + 2352 +
                             9408 + 392 + 6272 + 1568 + 19600 + 1568 + 6272 + 392 + 392 + 472);
  // Its layers: the depthwise convs are grouped, the second block of stage 3 has a residual.
  int adds = 0;
  for (const Layer& l : spec.layers) {
    if (l.name.ends_with(".dw")) {
      EXPECT_EQ(l.groups, l.cin);
      EXPECT_EQ(l.kernel, 5);
      EXPECT_EQ(l.padding, 2);
    }
    if (l.op == LayerOp::kAdd) {
      ++adds;
      EXPECT_EQ(l.name, "s3.b2.add");
      EXPECT_EQ(spec.layers[l.residual_from].name, "s3.b2.exp");
    }
  }
  EXPECT_EQ(adds, 1);
  EXPECT_EQ(spec.layers.back().name, "fc");
  EXPECT_EQ(spec.layers.back().policy.rank_ratio, 0.5);
  // The smallest: depth 1, expansion 1, kernel 3: no expand layers.
  const NetworkSpec small = space->Expand(space->Extreme(false));
  for (const Layer& l : small.layers) EXPECT_FALSE(l.name.ends_with(".exp")) << l.name;
  EXPECT_LT(small.Macs(), spec.Macs());
}

}  // namespace
}  // namespace hwnas

