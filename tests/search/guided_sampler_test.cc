// The `guided` sampler against `random` on a synthetic problem whose Pareto front is known
// exactly: 6 knobs x 4 choices (4,096 candidates), an accuracy that is a smooth function of the
// choices (per-knob effects with diminishing returns plus two pairwise interactions), and a
// latency the CostOracle knows before evaluation. The exact front and its hypervolume come from
// enumerating the whole space.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config_node.h"
#include "search/pareto.h"
#include "search/sampler.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

constexpr int kKnobs = 6;
constexpr int kChoices = 4;

std::unique_ptr<SearchSpace> SyntheticSpace() {
  std::string yaml = "kind: categorical\nname: synthetic\nknobs:\n";
  for (int k = 0; k < kKnobs; ++k) {
    yaml += "  - {name: k" + std::to_string(k) + ", choices: [a, b, c, d]}\n";
  }
  return MakeSearchSpace(ConfigNode::LoadString(yaml, "fixture_synthetic_space.yaml"));
}

// The true accuracy (percent) of a candidate: each knob adds w_k * q(choice), with diminishing
// returns q, and two pairs of knobs interact.
double TrueAccuracy(const Candidate& c) {
  static const double q[kChoices] = {0.0, 0.55, 0.85, 1.0};
  static const double w[kKnobs] = {9.0, 7.0, 5.5, 4.0, 3.0, 2.0};
  double accuracy = 55.0;
  for (int k = 0; k < kKnobs; ++k) accuracy += w[k] * q[c.choices[k]];
  accuracy += 2.5 * q[c.choices[0]] * q[c.choices[1]];
  accuracy -= 1.5 * q[c.choices[2]] * q[c.choices[3]];
  return accuracy;
}

// The true latency (ms): convex in each knob's choice, with weights in another order than the
// accuracy's, so the front trades knobs off against each other.
double TrueLatency(const Candidate& c) {
  static const double r[kChoices] = {0.0, 1.0, 2.2, 3.6};
  static const double v[kKnobs] = {1.3, 0.7, 1.1, 0.5, 0.9, 0.35};
  double latency = 0.5;
  for (int k = 0; k < kKnobs; ++k) latency += v[k] * r[c.choices[k]];
  return latency;
}

Objectives TrueObjectives(const Candidate& c) { return {100.0 - TrueAccuracy(c), TrueLatency(c)}; }

// The exact front of (error, latency) over the whole space, its hypervolume, and the reference
// point (the nadir of the whole space, as bench/front_recovery uses).
struct Problem {
  std::unique_ptr<SearchSpace> space;
  Objectives reference;
  double exact_hv = 0;
  size_t front_size = 0;
};

const Problem& SyntheticProblem() {
  static const Problem problem = [] {
    Problem p;
    p.space = SyntheticSpace();
    std::vector<Objectives> all;
    for (uint64_t i = 0; i < static_cast<uint64_t>(p.space->GridSize()); ++i) {
      all.push_back(TrueObjectives(p.space->GridPoint(i)));
    }
    p.reference = all[0];
    for (const auto& o : all) {
      for (size_t m = 0; m < o.size(); ++m) p.reference[m] = std::max(p.reference[m], o[m]);
    }
    std::vector<Objectives> front;
    for (int i : test::BruteFront(all)) front.push_back(all[i]);
    p.front_size = front.size();
    p.exact_hv = Hypervolume(front, p.reference);
    return p;
  }();
  return problem;
}

struct Recovery {
  std::optional<int> evals;  // distinct evaluations until 99% of the exact hypervolume
  std::set<std::string> proposed;
};

// Ask/tell until the evaluated set's front reaches 99% of the exact hypervolume, at most
// `max_evals` evaluations.
Recovery EvalsTo99(const SamplerOptions& options, size_t batch_size, uint64_t seed,
                   int max_evals) {
  const Problem& p = SyntheticProblem();
  const SearchSpace& space = *p.space;
  auto costs = [](const Candidate& c) {
    CostPreview preview;
    preview.per_device.push_back(Objectives{TrueLatency(c)});
    return preview;
  };
  auto sampler = MakeSampler(options, space, seed, costs);
  Recovery recovery;
  std::vector<Objectives> front;
  int evals = 0;
  while (evals < max_evals) {
    const auto batch = sampler->Ask(batch_size);
    if (batch.empty()) break;
    std::vector<Observation> observations;
    for (const auto& c : batch) {
      EXPECT_TRUE(recovery.proposed.insert(space.Format(c)).second)
          << "proposed twice: " << space.Format(c);
      const Objectives o = TrueObjectives(c);
      observations.push_back({c, TrueAccuracy(c), {o}, 0.0});
      ++evals;
      if (recovery.evals) continue;
      front.push_back(o);
      if (Hypervolume(front, p.reference) >= 0.99 * p.exact_hv) recovery.evals = evals;
    }
    if (recovery.evals) break;
    sampler->Tell(std::move(observations));
  }
  return recovery;
}

TEST(GuidedSamplerProblem, TheSyntheticFrontIsKnownAndNonTrivial) {
  // Guards the problem itself: a front of a handful of points would make the comparison below
  // meaningless. The numbers are those of TrueAccuracy and TrueLatency.
  const Problem& p = SyntheticProblem();
  EXPECT_EQ(p.space->GridSize(), 4096);
  EXPECT_EQ(p.front_size, 82u);
  EXPECT_NEAR(p.reference[0], 45.0, 1e-9);   // the all-'a' candidate's error
  EXPECT_NEAR(p.reference[1], 17.96, 1e-9);  // the all-'d' candidate's latency
  EXPECT_NEAR(p.exact_hv, 382.407, 1e-3);
  // The library's front of the whole space is the brute-force one.
  std::vector<Objectives> all;
  for (uint64_t i = 0; i < 4096; ++i) all.push_back(TrueObjectives(p.space->GridPoint(i)));
  EXPECT_EQ(ParetoFront(all), test::BruteFront(all));
}

// guided fits its Gaussian process on every batch of 2 with the default pool (1,000) and
// training cap (400); random draws batches of 20. Measured with batch 2 (evaluations to 99% of
// the exact hypervolume, guided / random):
//   seed 0: 312 / 1876   seed 1: 221 / 2326   seed 2: 295 / 2087   seed 3: 282 / 1870
//   seed 4: 107 / 1778   seed 5: 195 / 2181   seed 6: 386 / 1894   seed 7: 237 / 1980
// so guided needs at most 0.21 of random's evaluations on every seed. The bound asserted is
// half, leaving more than a factor of two of slack; a guided sampler that is no better than
// random fails it on every seed. Seeds 1 and 5 are the fast tier's (about a second each);
// the slow tier runs all eight.
constexpr size_t kGuidedBatch = 2;
constexpr size_t kRandomBatch = 20;

struct Comparison {
  int guided = 0;
  int random = 0;
};

Comparison Compare(uint64_t seed) {
  const Recovery random = EvalsTo99({.kind = "random"}, kRandomBatch, seed, 4096);
  // Random gets there at the latest when it has exhausted the space.
  EXPECT_TRUE(random.evals.has_value()) << "seed " << seed;
  const int random_evals = random.evals.value_or(4096);
  // guided gets half of random's evaluations (the bound), and a batch to finish in.
  const int cap = random_evals / 2;
  const Recovery guided = EvalsTo99({.kind = "guided"}, kGuidedBatch, seed, cap);
  EXPECT_TRUE(guided.evals.has_value()) << "seed " << seed << ": guided did not reach 99% of "
                                        << "the front's hypervolume in " << cap << " evaluations";
  return {guided.evals.value_or(cap + 1), random_evals};
}

Comparison ExpectGuidedNeedsAtMostHalf(uint64_t seed) {
  const Comparison c = Compare(seed);
  // The problem is hard for random: 99% of the hypervolume needs most front points.
  EXPECT_GT(c.random, 1200) << "seed " << seed;
  EXPECT_LE(2 * c.guided, c.random) << "seed " << seed << ": guided " << c.guided
                                    << " evaluations, random " << c.random;
  return c;
}

TEST(GuidedSampler, ReachesTheExactFrontInAtMostHalfTheEvaluationsOfRandom) {
  for (uint64_t seed : {1, 5}) ExpectGuidedNeedsAtMostHalf(seed);
}

TEST(GuidedSamplerSlow, ReachesTheExactFrontInAtMostHalfTheEvaluationsOfRandomOnEightSeeds) {
  std::vector<double> guided, random;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const Comparison c = ExpectGuidedNeedsAtMostHalf(seed);
    guided.push_back(c.guided);
    random.push_back(c.random);
  }
  // Medians measured: guided 260, random 1937 (a ratio of 0.13); asserted: a quarter.
  std::sort(guided.begin(), guided.end());
  std::sort(random.begin(), random.end());
  const double guided_median = (guided[3] + guided[4]) / 2;
  const double random_median = (random[3] + random[4]) / 2;
  EXPECT_LE(guided_median, 0.25 * random_median)
      << "median guided " << guided_median << ", random " << random_median;
}

}  // namespace
}  // namespace hwnas
