// Regularized (aging) evolution, Real et al. 2019: the population is a queue; each child
// mutates the winner of a tournament among `tournament` random members, and the oldest member
// dies when a child joins. The multi-objective tournament winner is the best by Pareto rank and
// crowding within the tournament.
#include <deque>

#include "search/sampler.h"

namespace hwnas {

namespace {

class EvolutionSampler : public Sampler {
 public:
  EvolutionSampler(const SamplerOptions& options, const SearchSpace& space, uint64_t seed,
                   CostOracle costs)
      : Sampler(space, seed, std::move(costs)),
        options_(WithDefaultMutationRate(options, space)) {}
  std::string_view kind() const override { return "evolution"; }

 protected:
  std::vector<Candidate> DoAsk(size_t n, Rng& rng) override {
    std::vector<Candidate> batch;
    const bool warm = population_.size() >= static_cast<size_t>(options_.population);
    std::vector<const Observation*> members;
    for (const auto& o : population_) members.push_back(&o);
    std::vector<Candidate> upgrades = warm ? UnseenFreeUpgrades(members) : std::vector<Candidate>{};
    while (batch.size() < n) {
      std::optional<Candidate> child;
      if (!upgrades.empty() && rng.Bernoulli(options_.upgrade_rate)) {
        child = TakeUnseen(upgrades, rng);
      }
      if (!child) child = Unseen(
          [&] { return warm ? space_.Mutate(TournamentWinner(rng), options_.mutation_rate, rng)
                            : space_.Sample(rng); },
          rng);
      if (!child) break;
      batch.push_back(std::move(*child));
    }
    return batch;
  }

  void DoTell(std::vector<Observation> observations) override {
    for (auto& o : observations) population_.push_back(std::move(o));
    while (population_.size() > static_cast<size_t>(options_.population)) population_.pop_front();
  }

 private:
  const Candidate& TournamentWinner(Rng& rng) const {
    std::vector<const Observation*> entrants;
    for (int i = 0; i < options_.tournament; ++i) {
      entrants.push_back(&population_[rng.Below(population_.size())]);
    }
    const auto fitness = RankObservations(entrants);
    size_t best = 0;
    for (size_t i = 1; i < entrants.size(); ++i) {
      if (Better(fitness[i], fitness[best])) best = i;
    }
    return entrants[best]->candidate;
  }

  SamplerOptions options_;
  std::deque<Observation> population_;
};

}  // namespace

std::unique_ptr<Sampler> MakeEvolutionSampler(const SamplerOptions& options,
                                              const SearchSpace& space, uint64_t seed,
                                              CostOracle costs) {
  return std::make_unique<EvolutionSampler>(options, space, seed, std::move(costs));
}

}  // namespace hwnas
