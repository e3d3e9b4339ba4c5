#include "search/sampler.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>

#include "core/errors.h"
#include "search/free_upgrade.h"

namespace hwnas {

namespace {

using Factory = std::function<std::unique_ptr<Sampler>(const SamplerOptions&,
                                                       const SearchSpace&, uint64_t, CostOracle)>;

const std::vector<std::pair<std::string, Factory>>& Factories() {
  static const std::vector<std::pair<std::string, Factory>> factories = {
      {"random", MakeRandomSampler},
      {"nsga2", MakeNsga2Sampler},
      {"evolution", MakeEvolutionSampler},
      {"guided", MakeGuidedSampler},
  };
  return factories;
}

}  // namespace

bool Better(const Fitness& a, const Fitness& b) {
  if (a.failed != b.failed) return !a.failed;
  if (a.violation != b.violation) return a.violation < b.violation;
  if (a.rank != b.rank) return a.rank < b.rank;
  return a.crowding > b.crowding;
}

std::vector<Fitness> RankObservations(const std::vector<const Observation*>& observations) {
  const size_t n = observations.size();
  std::vector<Fitness> fitness(n);
  constexpr int kUnranked = std::numeric_limits<int>::max();
  for (auto& f : fitness) {
    f.rank = kUnranked;
  }
  const size_t devices = n ? observations[0]->per_device.size() : 0;
  for (size_t d = 0; d < devices; ++d) {
    // Rank on this device among the feasible candidates it could cost.
    std::vector<Objectives> points;
    std::vector<size_t> owner;
    for (size_t i = 0; i < n; ++i) {
      const auto& objectives = observations[i]->per_device[d];
      if (objectives && observations[i]->violation == 0.0) {
        points.push_back(*objectives);
        owner.push_back(i);
      }
    }
    const auto fronts = NonDominatedSort(points);
    for (size_t r = 0; r < fronts.size(); ++r) {
      const auto crowding = CrowdingDistance(points, fronts[r]);
      for (size_t j = 0; j < fronts[r].size(); ++j) {
        Fitness& f = fitness[owner[fronts[r][j]]];
        const int rank = static_cast<int>(r);
        if (rank < f.rank) {
          f.rank = rank;
          f.crowding = crowding[j];
        } else if (rank == f.rank) {
          f.crowding = std::max(f.crowding, crowding[j]);
        }
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    fitness[i].violation = observations[i]->violation;
    bool any_device = false;
    for (const auto& objectives : observations[i]->per_device) any_device = any_device || objectives;
    fitness[i].failed = !any_device;
  }
  return fitness;
}

SamplerOptions WithDefaultMutationRate(SamplerOptions options, const SearchSpace& space) {
  if (options.mutation_rate == 0) options.mutation_rate = 1.0 / space.knobs().size();
  return options;
}

Sampler::Sampler(const SearchSpace& space, uint64_t seed, CostOracle costs)
    : space_(space), costs_(std::move(costs)), root_(seed) {
  for (size_t knob = 0; knob < space.knobs().size() && costs_ && !upgradable_; ++knob) {
    for (int choice = 0; choice < static_cast<int>(space.knobs()[knob].choices.size()); ++choice) {
      upgradable_ = upgradable_ || !space.FaithfulSteps(knob, choice).empty();
    }
  }
}

std::optional<Candidate> Sampler::TakeUnseen(std::vector<Candidate>& candidates, Rng& rng) {
  while (!candidates.empty()) {
    const size_t i = rng.Below(candidates.size());
    Candidate c = std::move(candidates[i]);
    candidates.erase(candidates.begin() + static_cast<long>(i));
    if (seen_.insert(space_.Format(c)).second) return c;
  }
  return std::nullopt;
}

std::vector<Candidate> Sampler::UnseenFreeUpgrades(
    const std::vector<const Observation*>& observations) {
  std::vector<Candidate> upgrades;
  std::unordered_set<std::string> listed;
  if (!upgradable_ || observations.empty()) return upgrades;
  for (size_t d = 0; d < observations[0]->per_device.size(); ++d) {
    std::vector<Objectives> points;
    std::vector<const Candidate*> owners;
    for (const Observation* o : observations) {
      if (o->per_device[d] && o->violation == 0) {
        points.push_back(*o->per_device[d]);
        owners.push_back(&o->candidate);
      }
    }
    for (int member : ParetoFront(points)) {
      const std::string key = std::to_string(d) + ":" + space_.Format(*owners[member]);
      auto found = upgrades_.find(key);
      if (found == upgrades_.end()) {
        found = upgrades_.emplace(key, FreeUpgrade(space_, *owners[member], d, costs_)).first;
      }
      if (!Seen(found->second) && listed.insert(space_.Format(found->second)).second) {
        upgrades.push_back(found->second);
      }
    }
  }
  return upgrades;
}

std::optional<Candidate> Sampler::UnseenByWalk(Rng& rng) {
  // Random draws seldom hit the last unseen points of a small space, so walk the grid from a
  // random start; larger spaces are far from exhausted when draws fail.
  constexpr double kMaxWalk = 1e7;
  const double grid = space_.GridSize();
  if (grid > kMaxWalk || static_cast<double>(seen_.size()) >= grid) return std::nullopt;
  const auto points = static_cast<uint64_t>(grid);
  const uint64_t start = rng.Below(points);
  for (uint64_t i = 0; i < points; ++i) {
    Candidate c = space_.GridPoint((start + i) % points);
    if (space_.IsValid(c) && seen_.insert(space_.Format(c)).second) return c;
  }
  return std::nullopt;
}

std::vector<Candidate> Sampler::Ask(size_t n) {
  if (!pending_.empty()) {
    throw std::logic_error("Sampler::Ask called twice: Tell the results of the previous batch (" +
                           std::to_string(pending_.size()) + " candidates) before asking again");
  }
  Rng rng = root_.Fork(batches_++);
  const auto start = std::chrono::steady_clock::now();
  size_t queued = 0;
  while (queued < enqueued_.size() && pending_.size() < n) {
    const Candidate& candidate = enqueued_[queued++];
    if (seen_.insert(space_.Format(candidate)).second) pending_.push_back(candidate);
  }
  enqueued_.erase(enqueued_.begin(), enqueued_.begin() + static_cast<long>(queued));
  if (pending_.size() < n) {
    auto proposed = DoAsk(n - pending_.size(), rng);
    pending_.insert(pending_.end(), proposed.begin(), proposed.end());
  }
  last_ask_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return pending_;
}

void Sampler::Enqueue(std::vector<Candidate> candidates) {
  enqueued_.insert(enqueued_.end(), candidates.begin(), candidates.end());
}

void Sampler::Tell(std::vector<Observation> observations) {
  if (observations.size() != pending_.size()) {
    throw std::logic_error("Sampler::Tell got " + std::to_string(observations.size()) +
                           " results for a batch of " + std::to_string(pending_.size()) +
                           "; tell exactly one result per asked candidate");
  }
  auto sorted_pending = pending_;
  std::sort(sorted_pending.begin(), sorted_pending.end());
  std::vector<Candidate> told;
  for (const auto& o : observations) told.push_back(o.candidate);
  std::sort(told.begin(), told.end());
  if (told != sorted_pending) {
    throw std::logic_error("Sampler::Tell got results for candidates it did not ask for");
  }
  pending_.clear();
  DoTell(std::move(observations));
}

std::vector<std::string> SamplerKinds() {
  std::vector<std::string> kinds;
  for (const auto& [name, factory] : Factories()) kinds.push_back(name);
  return kinds;
}

SamplerOptions ReadSamplerOptions(const ConfigNode& config) {
  config.ExpectKeys({"kind", "population", "tournament", "mutation_rate", "crossover_rate",
                     "upgrade_rate", "warmup", "pool", "max_train", "enqueue"});
  SamplerOptions options;
  options.kind = config.Choice("kind", SamplerKinds());
  options.population = static_cast<int>(config.Int("population", 2, 1000000, options.population));
  options.tournament = static_cast<int>(config.Int("tournament", 2, 1000000, options.tournament));
  if (options.tournament > options.population) {
    config.Child("tournament").Fail("must not exceed the population (" +
                                    std::to_string(options.population) + ")");
  }
  options.mutation_rate = config.Double("mutation_rate", 0.0, 1.0, options.mutation_rate);
  options.crossover_rate = config.Double("crossover_rate", 0.0, 1.0, options.crossover_rate);
  options.upgrade_rate = config.Double("upgrade_rate", 0.0, 1.0, options.upgrade_rate);
  options.warmup = static_cast<int>(config.Int("warmup", 2, 1000000, options.warmup));
  options.pool = static_cast<int>(config.Int("pool", 1, 10000000, options.pool));
  options.max_train = static_cast<int>(config.Int("max_train", 2, 100000, options.max_train));
  if (config.Has("enqueue")) {
    const ConfigNode list = config.Child("enqueue");
    if (!list.IsSequence()) list.Fail("a list of candidate strings");
    for (const ConfigNode& item : list.Items()) {
      options.enqueue.push_back({item.AsString(), item.Where() + ": " + item.key_path()});
    }
  }
  return options;
}

std::unique_ptr<Sampler> MakeSampler(const SamplerOptions& options, const SearchSpace& space,
                                     uint64_t seed, CostOracle costs) {
  std::vector<Candidate> enqueued;
  for (const auto& [text, where] : options.enqueue) {
    try {
      enqueued.push_back(space.Parse(text));  // valid, or it throws
    } catch (const ConfigError& e) {
      throw ConfigError(where + ": " + e.what());
    }
  }
  for (const auto& [name, factory] : Factories()) {
    if (name != options.kind) continue;
    auto sampler = factory(options, space, seed, std::move(costs));
    sampler->Enqueue(std::move(enqueued));
    return sampler;
  }
  throw ConfigError("unknown sampler kind '" + options.kind + "'; valid: " +
                    JoinNames(SamplerKinds()));
}

}  // namespace hwnas
