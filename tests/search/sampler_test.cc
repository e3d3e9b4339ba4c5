#include "search/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/candidate.h"
#include "core/errors.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::SourcePath;
using test::ThrowsWith;

std::unique_ptr<SearchSpace> Nb201() {
  return LoadSearchSpace(SourcePath("configs/spaces/nb201.yaml"));
}

// The 3 x 3 x 2 = 18 point space.
std::unique_ptr<SearchSpace> Small() {
  return MakeSearchSpace(
      ConfigNode::LoadString("kind: categorical\nknobs:\n  - {name: a, choices: [0, 1, 2]}\n"
                             "  - {name: b, choices: [0, 1, 2]}\n  - {name: c, choices: [0, 1]}\n",
                             "fixture_small_space.yaml"));
}

// A synthetic problem on two devices, a pure function of the candidate: latencies the device
// models know in advance, and an accuracy that one time in ten fails to evaluate.
struct Truth {
  std::optional<double> accuracy;
  std::vector<double> latency;
};

Truth TruthOf(const SearchSpace& space, const Candidate& c) {
  Rng rng(CandidateHash(space.Format(c)));
  Truth t;
  if (rng.Below(10) != 0) t.accuracy = 50 + 50 * rng.Uniform();
  t.latency = {1 + 9 * rng.Uniform(), 1 + 9 * rng.Uniform()};
  return t;
}

CostPreview Preview(const SearchSpace& space, const Candidate& c) {
  CostPreview preview;
  for (double latency : TruthOf(space, c).latency)
    preview.per_device.push_back(Objectives{latency});
  return preview;
}

Observation Observe(const SearchSpace& space, const Candidate& c) {
  const Truth t = TruthOf(space, c);
  Observation o;
  o.candidate = c;
  o.accuracy = t.accuracy;
  for (double latency : t.latency) {
    o.per_device.push_back(t.accuracy ? std::optional<Objectives>({100 - *t.accuracy, latency})
                                      : std::nullopt);
  }
  return o;
}

// One ask/tell round; returns what was asked.
std::vector<Candidate> Round(Sampler& sampler, const SearchSpace& space, size_t n) {
  const auto batch = sampler.Ask(n);
  std::vector<Observation> observations;
  for (const auto& c : batch) observations.push_back(Observe(space, c));
  std::reverse(observations.begin(), observations.end());  // any order is allowed
  sampler.Tell(std::move(observations));
  return batch;
}

std::vector<std::string> Strings(const SearchSpace& space, const std::vector<Candidate>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(space.Format(c));
  return out;
}

class SamplerTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Sampler> Make(const SearchSpace& space, uint64_t seed) const {
    SamplerOptions options;
    options.kind = GetParam();
    options.population = 20;
    options.tournament = 5;
    // guided: a small pool and training set keep its Gaussian process cheap enough for 3,000
    // asks; the others ignore these.
    options.pool = 200;
    options.max_train = 100;
    return MakeSampler(options, space, seed,
                       [&space](const Candidate& c) { return Preview(space, c); });
  }
};

TEST_P(SamplerTest, AskTwiceWithoutTellThrows) {
  const auto space = Nb201();
  auto sampler = Make(*space, 1);
  EXPECT_EQ(sampler->kind(), GetParam());
  ASSERT_EQ(sampler->Ask(4).size(), 4u);
  EXPECT_TRUE(ThrowsWith<std::logic_error>(
      [&] { sampler->Ask(4); }, {"Ask called twice", "Tell the results", "4 candidates"}));
}

TEST_P(SamplerTest, TellWithWrongCountThrows) {
  const auto space = Nb201();
  auto sampler = Make(*space, 1);
  EXPECT_TRUE(ThrowsWith<std::logic_error>(
      [&] {
        sampler->Tell({Observe(*space, Candidate{{0, 0, 0, 0, 0, 0}})});
      },
      {"got 1 results for a batch of 0"}));
  const auto batch = sampler->Ask(5);
  std::vector<Observation> four;
  for (size_t i = 0; i < 4; ++i) four.push_back(Observe(*space, batch[i]));
  EXPECT_TRUE(ThrowsWith<std::logic_error>(
      [&] { sampler->Tell(four); },
      {"got 4 results for a batch of 5", "one result per asked candidate"}));
  // Results for other candidates are refused too.
  auto wrong = four;
  Candidate other = batch[4];
  other.choices[0] = (other.choices[0] + 1) % 5;
  if (std::find(batch.begin(), batch.end(), other) == batch.end()) {
    wrong.push_back(Observe(*space, other));
    EXPECT_TRUE(ThrowsWith<std::logic_error>([&] { sampler->Tell(wrong); },
                                             {"candidates it did not ask for"}));
  }
  four.push_back(Observe(*space, batch[4]));
  EXPECT_NO_THROW(sampler->Tell(four));
  EXPECT_EQ(sampler->Ask(3).size(), 3u);
}

// Enqueued candidates come first, in order and once each (a repeat is dropped), across
// batches; then the sampler's own proposals, which never repeat them.
TEST_P(SamplerTest, EnqueuedCandidatesComeFirstInOrderThenTheSamplersOwn) {
  const auto space = Small();
  SamplerOptions options;
  options.kind = GetParam();
  options.population = 4;
  options.tournament = 2;
  options.warmup = 2;
  const std::vector<std::string> queue = {"a=2;b=2;c=1", "a=0;b=1;c=0", "a=2;b=2;c=1",
                                          "a=1;b=0;c=1"};
  for (const auto& text : queue) options.enqueue.push_back({text, "fixture.yaml:1"});
  auto sampler = MakeSampler(options, *space, 3,
                             [&](const Candidate& c) { return Preview(*space, c); });
  const auto first = Strings(*space, Round(*sampler, *space, 2));
  EXPECT_EQ(first, (std::vector<std::string>{"a=2;b=2;c=1", "a=0;b=1;c=0"}));
  const auto second = Strings(*space, Round(*sampler, *space, 4));
  ASSERT_EQ(second.size(), 4u);
  EXPECT_EQ(second[0], "a=1;b=0;c=1");
  std::set<std::string> all(first.begin(), first.end());
  all.insert(second.begin(), second.end());
  EXPECT_EQ(all.size(), 6u) << "a repeat";
}

TEST_P(SamplerTest, NeverRepeatsAndProposesOnlyValidCandidates) {
  const auto space = Nb201();
  auto sampler = Make(*space, 2);
  std::set<std::string> seen;
  for (int round = 0; round < 300; ++round) {
    const auto batch = Round(*sampler, *space, 10);
    ASSERT_EQ(batch.size(), 10u) << "round " << round;
    for (const auto& c : batch) {
      ASSERT_TRUE(space->IsValid(c));
      ASSERT_TRUE(seen.insert(space->Format(c)).second)
          << "repeated " << space->Format(c) << " in round " << round;
    }
  }
  EXPECT_EQ(seen.size(), 3000u);
}

TEST_P(SamplerTest, SameSeedSameSequence) {
  const auto space = Nb201();
  auto a = Make(*space, 42), b = Make(*space, 42), c = Make(*space, 43);
  std::vector<std::string> seq_a, seq_b, seq_c;
  for (int round = 0; round < 40; ++round) {
    for (auto& s : Strings(*space, Round(*a, *space, 7))) seq_a.push_back(s);
    for (auto& s : Strings(*space, Round(*b, *space, 7))) seq_b.push_back(s);
    for (auto& s : Strings(*space, Round(*c, *space, 7))) seq_c.push_back(s);
  }
  EXPECT_EQ(seq_a, seq_b);
  EXPECT_NE(seq_a, seq_c);
}

TEST_P(SamplerTest, ExhaustsASmallSpaceExactlyThenReturnsEmpty) {
  const auto space = Small();
  auto sampler = Make(*space, 3);
  std::set<std::string> seen;
  std::vector<size_t> sizes;
  while (true) {
    const auto batch = Round(*sampler, *space, 5);
    if (batch.empty()) break;
    sizes.push_back(batch.size());
    for (const auto& c : batch) {
      ASSERT_TRUE(seen.insert(space->Format(c)).second) << "repeated " << space->Format(c);
    }
    ASSERT_LE(sizes.size(), 10u) << "never ran out";
  }
  EXPECT_EQ(seen.size(), 18u);
  EXPECT_EQ(sizes, (std::vector<size_t>{5, 5, 5, 3}));  // fewer only when the space runs out
  EXPECT_TRUE(Round(*sampler, *space, 5).empty());
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SamplerTest, ::testing::ValuesIn(SamplerKinds()),
                         [](const auto& info) { return info.param; });

TEST(SamplerKinds, IncludeTheDocumentedOnes) {
  const auto kinds = SamplerKinds();
  for (const char* kind : {"random", "nsga2", "evolution", "guided"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), kind), kinds.end()) << kind;
  }
}

TEST(RandomSampler, ExhaustsTheNb201Space) {
  // "Up to n new candidates; fewer only when the space runs out": a random sampler must find
  // the last unseen candidates of a large space too, not give up while some remain.
  const auto space = Nb201();
  auto sampler = MakeSampler(SamplerOptions{.kind = "random"}, *space, 9);
  size_t total = 0;
  while (true) {
    const auto batch = Round(*sampler, *space, 50);
    if (batch.empty()) break;
    total += batch.size();
    if (total < 15625) {
      ASSERT_EQ(batch.size(), 50u) << "a short batch with " << 15625 - total << " left";
    }
  }
  EXPECT_EQ(total, 15625u);
}

TEST(ReadSamplerOptions, ErrorsNameLineAndChoices) {
  auto read = [](const std::string& yaml) {
    return ReadSamplerOptions(ConfigNode::LoadString(yaml, "fixture_sampler.yaml"));
  };
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { read("population: 10\nkind: nsga3\n"); },
      {"fixture_sampler.yaml:2: kind: unknown value 'nsga3'; valid: random, nsga2, evolution"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { read("kind: evolution\npopulation: 10\ntournament: 11\n"); },
      {"fixture_sampler.yaml:3: tournament: must not exceed the population (10)"}));
  // An enqueued string is checked against the space when the sampler is made.
  const auto space = Small();
  auto make = [&](const std::string& yaml) { MakeSampler(read(yaml), *space, 0); };
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { make("kind: random\nenqueue:\n  - a=0;b=0;c=0\n  - a=0;b=9;c=0\n"); },
      {"fixture_sampler.yaml:4: enqueue[1]: candidate 'a=0;b=9;c=0': knob 'b'"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { make("kind: random\nenqueue: a=0;b=0;c=0\n"); },
                                      {"fixture_sampler.yaml:2: enqueue: a list of candidate"}));
  EXPECT_TRUE(ThrowsWith<ConfigError>(
      [&] { read("kind: nsga2\nupgrade_rate: 1.5\n"); },
      {"fixture_sampler.yaml:2: upgrade_rate: value 1.5 out of range [0, 1]"}));
  const auto options = read("kind: evolution\npopulation: 30\nmutation_rate: 0.5\n");
  EXPECT_EQ(options.population, 30);
  EXPECT_EQ(options.mutation_rate, 0.5);
  EXPECT_EQ(options.tournament, 10);
  EXPECT_EQ(options.upgrade_rate, 0.25);
}

// Constraint domination (Deb 2002): feasible before infeasible whatever the objectives, less
// violation before more, failed evaluations last.
TEST(RankObservations, FeasibleBeforeInfeasibleBeforeFailed) {
  // Objectives are {100 - accuracy, latency}, as a run builds them.
  auto obs = [](std::optional<Objectives> objectives, double violation) {
    Observation o;
    if (objectives) o.accuracy = 100 - (*objectives)[0];
    o.per_device = {std::move(objectives)};
    o.violation = violation;
    return o;
  };
  const std::vector<Observation> observations = {
      obs(Objectives{5, 5}, 0),    // 0: feasible, rank 2
      obs(Objectives{1, 1}, 0),    // 1: feasible, rank 0
      obs(Objectives{0, 0}, 0.5),  // 2: infeasible, would dominate everything
      obs(Objectives{0, 0}, 2.0),  // 3: more infeasible
      obs(std::nullopt, 0),        // 4: failed
      obs(Objectives{2, 2}, 0),    // 5: feasible, rank 1
  };
  std::vector<const Observation*> pointers;
  for (const auto& o : observations) pointers.push_back(&o);
  const auto fitness = RankObservations(pointers);
  ASSERT_EQ(fitness.size(), 6u);
  EXPECT_EQ(fitness[1].rank, 0);
  EXPECT_EQ(fitness[5].rank, 1);
  EXPECT_EQ(fitness[0].rank, 2);
  EXPECT_EQ(fitness[2].violation, 0.5);
  EXPECT_TRUE(fitness[4].failed);
  EXPECT_FALSE(fitness[2].failed);
  for (int feasible : {0, 1, 5}) {
    for (int infeasible : {2, 3}) {
      EXPECT_TRUE(Better(fitness[feasible], fitness[infeasible]))
          << feasible << " vs " << infeasible;
      EXPECT_FALSE(Better(fitness[infeasible], fitness[feasible]))
          << infeasible << " vs " << feasible;
    }
  }
  std::vector<int> order = {4, 3, 2, 0, 5, 1};
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return Better(fitness[a], fitness[b]); });
  EXPECT_EQ(order, (std::vector<int>{1, 5, 0, 2, 3, 4}));
}

TEST(RankObservations, RankIsTheBestOverDevices) {
  auto obs = [](double error, double latency0, double latency1) {
    Observation o;
    o.accuracy = 100 - error;
    o.per_device = {Objectives{error, latency0}, Objectives{error, latency1}};
    return o;
  };
  // 0 is dominated by 1 on device 0 but, faster on device 1, on that device's front.
  const std::vector<Observation> observations = {obs(2, 2, 0.5), obs(1, 1, 1), obs(3, 3, 2)};
  std::vector<const Observation*> pointers;
  for (const auto& o : observations) pointers.push_back(&o);
  const auto fitness = RankObservations(pointers);
  EXPECT_EQ(fitness[0].rank, 0);
  EXPECT_EQ(fitness[1].rank, 0);
  EXPECT_EQ(fitness[2].rank, 1);
}

}  // namespace
}  // namespace hwnas
