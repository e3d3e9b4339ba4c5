// Batch ask/tell samplers. A run asks for a batch, evaluates it, and tells the results back
// before it asks again; calls out of that order fail with a message saying how to fix them.
// Every sampler proposes only valid candidates it has not proposed before, and draws its
// randomness from the run seed forked by batch index, so a run reproduces at any thread count.
//
// Kinds (the run YAML's `sampler.kind`):
//   random     uniform samples without repeats
//   nsga2      NSGA-II (Deb et al. 2002) with constraint domination
//   evolution  regularized (aging) evolution (Real et al. 2019) on Pareto tournaments
//   guided     Gaussian-process surrogate of accuracy + expected hypervolume improvement over
//              every device's front, with costs known in advance from the device models
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/config_node.h"
#include "core/rng.h"
#include "search/pareto.h"
#include "search/search_space.h"

namespace hwnas {

// What a sampler learns of one evaluated candidate.
struct Observation {
  Candidate candidate;
  std::optional<double> accuracy;  // percent; nullopt when the evaluation failed
  // Minimisation objectives on each device; nullopt where the evaluation or the device failed.
  std::vector<std::optional<Objectives>> per_device;
  // How far the candidate exceeds the run's constraints (0 = feasible).
  double violation = 0.0;
};

// What is known of a candidate before it is evaluated, from the cheap device models: each
// device's cost objectives (latency, and energy when it is an objective; nullopt where the
// device cannot cost it), and how far it breaks the run's constraints.
struct CostPreview {
  std::vector<std::optional<Objectives>> per_device;
  double violation = 0.0;
};
using CostOracle = std::function<CostPreview(const Candidate&)>;

// A candidate's standing among observations, shared by the samplers: feasible before
// infeasible (less violation first), failed last; then the best non-domination rank on any
// device, then the larger crowding distance.
struct Fitness {
  bool failed = false;
  double violation = 0.0;
  int rank = 0;
  double crowding = 0.0;
};

bool Better(const Fitness& a, const Fitness& b);
std::vector<Fitness> RankObservations(const std::vector<const Observation*>& observations);

class Sampler {
 public:
  // `costs`: what the device models know before evaluation; without it no free upgrades.
  Sampler(const SearchSpace& space, uint64_t seed, CostOracle costs = {});
  virtual ~Sampler() = default;

  // Up to n new candidates; fewer only when the space runs out. Enqueued candidates come
  // first.
  std::vector<Candidate> Ask(size_t n);
  // Candidates to evaluate before any the sampler proposes (a known-good network, a deployed
  // baseline), as Optuna's enqueue_trial; the sampler learns from their results like any.
  void Enqueue(std::vector<Candidate> candidates);
  // The results of the last Ask, in any order, one per asked candidate.
  void Tell(std::vector<Observation> observations);

  virtual std::string_view kind() const = 0;
  // Seconds the sampler itself spent in the last Ask (surrogate fitting, acquisition).
  double last_ask_seconds() const { return last_ask_seconds_; }

 protected:
  virtual std::vector<Candidate> DoAsk(size_t n, Rng& rng) = 0;
  virtual void DoTell(std::vector<Observation> observations) = 0;

  bool Seen(const Candidate& candidate) const { return seen_.count(space_.Format(candidate)) > 0; }
  void MarkSeen(const Candidate& candidate) { seen_.insert(space_.Format(candidate)); }

  // Calls `propose` until it yields an unseen candidate, then falls back to random ones and,
  // in a small space, to a walk over it; nullopt when the space is exhausted. Marks the result
  // as seen.
  template <typename Propose>
  std::optional<Candidate> Unseen(Propose propose, Rng& rng);

  // The free upgrades (search/free_upgrade.h) of the members of each device's front among
  // `observations`, each on its device, that are not yet seen; in a fixed order. Each member's
  // upgrade is worked out once per device. None without device models or compression knobs.
  std::vector<Candidate> UnseenFreeUpgrades(const std::vector<const Observation*>& observations);

  // Removes a random one of `candidates` that is not yet seen, marks it seen and returns it;
  // nullopt when none is left.
  std::optional<Candidate> TakeUnseen(std::vector<Candidate>& candidates, Rng& rng);

  const SearchSpace& space_;
  const CostOracle costs_;

 private:
  std::optional<Candidate> UnseenByWalk(Rng& rng);

  Rng root_;
  double last_ask_seconds_ = 0;
  uint64_t batches_ = 0;
  std::vector<Candidate> pending_;
  std::vector<Candidate> enqueued_;      // in order
  std::unordered_set<std::string> seen_;  // canonical strings
  bool upgradable_ = false;               // device models and a knob with faithful steps
  std::unordered_map<std::string, Candidate> upgrades_;  // "device:member" -> its upgrade
};

template <typename Propose>
std::optional<Candidate> Sampler::Unseen(Propose propose, Rng& rng) {
  constexpr int kProposals = 32;
  constexpr int kRandomDraws = 256;
  for (int i = 0; i < kProposals + kRandomDraws; ++i) {
    Candidate c = i < kProposals ? propose() : space_.Sample(rng);
    if (seen_.insert(space_.Format(c)).second) return c;
  }
  return UnseenByWalk(rng);
}

struct SamplerOptions {
  std::string kind = "nsga2";
  int population = 50;         // nsga2, evolution
  int tournament = 10;         // evolution: sample size of a tournament
  double mutation_rate = 0;    // per knob; 0 means 1 / number of knobs
  double crossover_rate = 0.9; // nsga2
  // nsga2, evolution: the share of children that are a front member's free upgrade, while any
  // is left (search/free_upgrade.h)
  double upgrade_rate = 0.25;
  int warmup = 10;             // guided: random candidates before the surrogate takes over
  int pool = 1000;             // guided: unevaluated candidates scored per ask
  int max_train = 400;         // guided: most observations the surrogate is fitted on
  // Candidate strings evaluated first, each with where it was given ("file:line").
  struct Enqueued {
    std::string candidate;
    std::string where;
  };
  std::vector<Enqueued> enqueue = {};  // `= {}`: -Wmissing-field-initializers, where omitted
};

std::vector<std::string> SamplerKinds();
// The options with a mutation rate of 0 resolved to its default, 1 / number of knobs.
SamplerOptions WithDefaultMutationRate(SamplerOptions options, const SearchSpace& space);
// Reads a run YAML's `sampler:` mapping.
SamplerOptions ReadSamplerOptions(const ConfigNode& config);
// `costs` tells what the device models know before evaluation; `guided` needs it. Throws
// ConfigError, at its file and line, for an enqueued string that is no valid candidate of
// `space`.
std::unique_ptr<Sampler> MakeSampler(const SamplerOptions& options, const SearchSpace& space,
                                     uint64_t seed, CostOracle costs = {});

std::unique_ptr<Sampler> MakeRandomSampler(const SamplerOptions&, const SearchSpace&, uint64_t,
                                           CostOracle);
std::unique_ptr<Sampler> MakeNsga2Sampler(const SamplerOptions&, const SearchSpace&, uint64_t,
                                          CostOracle);
std::unique_ptr<Sampler> MakeEvolutionSampler(const SamplerOptions&, const SearchSpace&, uint64_t,
                                              CostOracle);
std::unique_ptr<Sampler> MakeGuidedSampler(const SamplerOptions&, const SearchSpace&, uint64_t,
                                           CostOracle);

}  // namespace hwnas
