// NSGA-II: binary tournaments on (constraint violation, rank, crowding), uniform crossover and
// per-knob mutation, then (mu + lambda) survival by the same order. With several devices a
// candidate's rank is its best rank on any device, so every device's front is kept alive.
#include <algorithm>
#include <numeric>

#include "search/sampler.h"

namespace hwnas {

namespace {

class Nsga2Sampler : public Sampler {
 public:
  Nsga2Sampler(const SamplerOptions& options, const SearchSpace& space, uint64_t seed,
               CostOracle costs)
      : Sampler(space, seed, std::move(costs)),
        options_(WithDefaultMutationRate(options, space)) {}
  std::string_view kind() const override { return "nsga2"; }

 protected:
  std::vector<Candidate> DoAsk(size_t n, Rng& rng) override {
    std::vector<const Observation*> members;
    for (const auto& o : population_) members.push_back(&o);
    const auto fitness = RankObservations(members);
    auto tournament = [&]() -> const Candidate& {
      const size_t a = rng.Below(members.size());
      const size_t b = rng.Below(members.size());
      return Better(fitness[b], fitness[a]) ? members[b]->candidate : members[a]->candidate;
    };
    auto offspring = [&] {
      const Candidate& mother = tournament();
      const Candidate& father = tournament();
      Candidate c = rng.Bernoulli(options_.crossover_rate) ? space_.Crossover(mother, father, rng)
                                                           : mother;
      return space_.Mutate(c, options_.mutation_rate, rng);
    };
    std::vector<Candidate> batch;
    std::vector<Candidate> upgrades = UnseenFreeUpgrades(members);
    while (batch.size() < n) {
      std::optional<Candidate> child;
      if (!upgrades.empty() && rng.Bernoulli(options_.upgrade_rate)) {
        child = TakeUnseen(upgrades, rng);
      }
      if (!child && members.size() < 2) {
        child = Unseen([&] { return space_.Sample(rng); }, rng);
      } else if (!child) {
        child = Unseen(offspring, rng);
      }
      if (!child) break;
      batch.push_back(std::move(*child));
    }
    return batch;
  }

  void DoTell(std::vector<Observation> observations) override {
    for (auto& o : observations) population_.push_back(std::move(o));
    if (population_.size() <= static_cast<size_t>(options_.population)) return;
    std::vector<const Observation*> members;
    for (const auto& o : population_) members.push_back(&o);
    const auto fitness = RankObservations(members);
    std::vector<size_t> order(population_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return Better(fitness[a], fitness[b]); });
    std::vector<Observation> survivors;
    for (size_t i = 0; i < static_cast<size_t>(options_.population); ++i) {
      survivors.push_back(std::move(population_[order[i]]));
    }
    population_ = std::move(survivors);
  }

 private:
  SamplerOptions options_;
  std::vector<Observation> population_;
};

}  // namespace

std::unique_ptr<Sampler> MakeNsga2Sampler(const SamplerOptions& options, const SearchSpace& space,
                                          uint64_t seed, CostOracle costs) {
  return std::make_unique<Nsga2Sampler>(options, space, seed, std::move(costs));
}

}  // namespace hwnas
