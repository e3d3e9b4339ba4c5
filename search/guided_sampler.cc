// Predictor-guided search. Accuracy is the expensive, unknown objective; every device's cost is
// known before evaluation from its model (CostOracle). So the surrogate models accuracy alone
// (a Gaussian process, evaluator/gaussian_process.h) and the acquisition is the exact expected
// hypervolume improvement of a candidate whose error is Gaussian and whose costs are known:
//
//   sort a device's observed points by error t_1 <= ... <= t_m, t_0 = -inf, t_{m+1} = ref;
//   A_j = measure of the candidate's cost box [c, ref_c] not dominated by the costs of points
//         1..j; g(x) = E[max(x - e, 0)] = (x - mu) Phi(z) + sigma phi(z), z = (x - mu) / sigma;
//   EHVI = sum_j A_j (g(t_{j+1}) - g(t_j)).
//
// With several devices the score is the sum over devices of EHVI normalised by the device's
// objective box, so one candidate is worth most when it moves every front. A batch is chosen
// greedily, each pick joining the fronts with its predicted error (kriging believer). The pool
// is mutations of the current fronts plus random candidates, feasible by the device models:
// a constrained candidate is never proposed, nor one the space knows ignores its input.
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/errors.h"
#include "evaluator/accuracy_predictor.h"
#include "search/sampler.h"

namespace hwnas {

namespace {

// 8-point Gauss-Hermite rule for E[f(z)], z ~ N(0, 1) (probabilists' nodes and weights).
constexpr double kHermiteNodes[] = {-4.1445471861258, -2.8024858612875, -1.6365190424351,
                                    -0.5390798113513, 0.5390798113513,  1.6365190424351,
                                    2.8024858612875,  4.1445471861258};
constexpr double kHermiteWeights[] = {0.0001126145383753, 0.0096352201207883, 0.1172399076617591,
                                      0.3730122576790775, 0.3730122576790775, 0.1172399076617591,
                                      0.0096352201207883, 0.0001126145383753};

// A device's observed points for the acquisition: error plus cost objectives.
struct DeviceFront {
  std::vector<Objectives> points;  // {error, cost...}, sorted by error
  Objectives reference;            // {error, cost...}
  double scale = 1;                // volume of the objective box, to normalise gains
};

// Expected hypervolume improvement of a candidate with known costs whose error is
// warp.Inverse(z), z ~ N(score.mean, score.stddev^2). With the front's points sorted by error
// t_1 <= ... <= t_m (t_{m+1} = the reference), and A_j the part of the candidate's cost box
// [c, ref] not dominated by the costs of points 1..j, the improvement at error e is
//   I(e) = sum_j A_j (max(t_{j+1} - e, 0) - max(t_j - e, 0)),
// exact for any number of cost objectives; the expectation is a Gauss-Hermite sum over z.
double ExpectedImprovement(const DeviceFront& front, const Objectives& costs,
                           const GpPrediction& score, const RankWarp& warp) {
  const size_t dims = costs.size();
  const Objectives cost_ref(front.reference.begin() + 1, front.reference.end());
  double box = 1;
  for (size_t k = 0; k < dims; ++k) box *= std::max(0.0, cost_ref[k] - costs[k]);
  if (box <= 0) return 0;
  // uncovered[j] = A_j; levels[j] = t_{j+1}.
  std::vector<double> uncovered = {box};
  std::vector<double> levels;
  std::vector<Objectives> clipped;
  double least_cost = cost_ref[0];
  for (const auto& point : front.points) {
    levels.push_back(point[0]);
    if (dims == 1) {
      // One cost (latency): the uncovered part is [c, min(ref, least cost so far)].
      least_cost = std::min(least_cost, point[1]);
      uncovered.push_back(std::max(0.0, least_cost - costs[0]));
      continue;
    }
    Objectives p(point.begin() + 1, point.end());
    for (size_t k = 0; k < dims; ++k) p[k] = std::max(p[k], costs[k]);
    clipped.push_back(std::move(p));
    uncovered.push_back(box - Hypervolume(clipped, cost_ref));
  }
  levels.push_back(front.reference[0]);
  double expected = 0;
  for (size_t q = 0; q < std::size(kHermiteNodes); ++q) {
    const double e = warp.Inverse(score.mean + score.stddev * kHermiteNodes[q]);
    double improvement = 0;
    double below = 0;  // max(t_j - e, 0), with t_0 = -inf
    for (size_t j = 0; j < levels.size(); ++j) {
      const double above = std::max(levels[j] - e, 0.0);
      improvement += uncovered[j] * (above - below);
      below = above;
    }
    expected += kHermiteWeights[q] * improvement;
  }
  return expected / front.scale;
}

class GuidedSampler : public Sampler {
 public:
  GuidedSampler(const SamplerOptions& options, const SearchSpace& space, uint64_t seed,
                CostOracle costs)
      : Sampler(space, seed, std::move(costs)), options_(WithDefaultMutationRate(options, space)) {
    if (!costs_) throw ConfigError("sampler 'guided' needs the run's device models");
  }
  std::string_view kind() const override { return "guided"; }

 protected:
  std::vector<Candidate> DoAsk(size_t n, Rng& rng) override {
    if (history_.size() < static_cast<size_t>(options_.warmup)) return RandomFeasible(n, rng);
    std::vector<GpInput> inputs;
    std::vector<double> accuracies;
    TrainingSet(rng, inputs, accuracies);
    if (inputs.size() < 2) return RandomFeasible(n, rng);
    // The hyperparameter search is the costly part of a fit. While the model is small and
    // changes most with each point it is redone every ask (cheap at that size; on edgegpu it cut
    // the median evaluations to the front from 39 to 27); later every few asks, the last serving.
    const bool search =
        inputs.size() < kSearchEveryAskBelow || asks_since_search_ == 0 || averaged_.empty();
    if (search) averaged_ = MostLikelyHyperparameters(inputs, accuracies);
    asks_since_search_ = (asks_since_search_ + 1) % kAsksPerHyperparameterSearch;
    std::vector<AccuracyPredictor> models(averaged_.size());
    for (size_t m = 0; m < models.size(); ++m) {
      models[m].Fit(inputs, accuracies, &averaged_[m].hyperparameters);
    }
    const RankWarp& warp = models[0].warp();  // the same targets give every model the same warp

    const auto front_indices = FrontIndices();
    std::vector<const Observation*> observed;
    for (const auto& o : history_) observed.push_back(&o);
    auto pool = Pool(front_indices, UnseenFreeUpgrades(observed), rng);
    std::vector<GpPrediction> predicted(pool.size());
    tbb::parallel_for(size_t{0}, pool.size(), [&](size_t i) {
      predicted[i] = AveragedScore(models, Features(pool[i].candidate));
    });
    auto fronts = Fronts(front_indices, pool);

    std::vector<Candidate> batch;
    std::vector<double> score(pool.size());
    std::vector<bool> taken(pool.size(), false);
    while (batch.size() < n && batch.size() < pool.size()) {
      tbb::parallel_for(size_t{0}, pool.size(), [&](size_t i) {
        score[i] = taken[i] ? -1 : Acquisition(fronts, pool[i].costs, predicted[i], warp);
      });
      // Ties go to the lower index: the choice never depends on the thread count.
      size_t best = 0;
      while (taken[best]) ++best;
      for (size_t i = best + 1; i < pool.size(); ++i) {
        if (!taken[i] && score[i] > score[best]) best = i;
      }
      taken[best] = true;
      batch.push_back(pool[best].candidate);
      MarkSeen(pool[best].candidate);
      // Kriging believer: the pick joins the fronts with its predicted error.
      for (size_t d = 0; d < fronts.size(); ++d) {
        if (!pool[best].costs.per_device[d]) continue;
        Objectives point = {warp.Inverse(predicted[best].mean)};
        for (double c : *pool[best].costs.per_device[d]) point.push_back(c);
        Insert(fronts[d], point);
      }
    }
    // Near the end of a small space the pool's draws find too little that is new.
    for (auto& c : RandomFeasible(n - batch.size(), rng)) batch.push_back(std::move(c));
    return batch;
  }

  void DoTell(std::vector<Observation> observations) override {
    for (auto& o : observations) history_.push_back(std::move(o));
  }

 private:
  struct Option {
    Candidate candidate;
    CostPreview costs;
  };

  // With few points the marginal likelihood is flat across the grid, and picking its single
  // best point is close to a coin flip. So predictions average the few most likely grid points,
  // weighted by their likelihood: a truncated version of integrating the hyperparameters out
  // (Snoek et al. 2012). On front_recovery (60 seeds) it cut the median evaluations on edgegpu
  // from 25 to 22 and the upper quartiles on edgegpu, raspi4 and fpga; no device got worse.
  struct WeightedHyperparameters {
    GaussianProcess::Hyperparameters hyperparameters;
    double weight = 0;
  };
  static constexpr size_t kAveragedHyperparameters = 3;

  static std::vector<WeightedHyperparameters> MostLikelyHyperparameters(
      const std::vector<GpInput>& inputs, const std::vector<double>& accuracies) {
    AccuracyPredictor searching;
    searching.Fit(inputs, accuracies);
    const auto& ranked = searching.searched();
    std::vector<WeightedHyperparameters> kept;
    for (size_t m = 0; m < ranked.size() && m < kAveragedHyperparameters; ++m) {
      // The best point always stays, even when no factorisation succeeded.
      const double relative = m == 0 ? 0.0 : ranked[m].log_likelihood - ranked[0].log_likelihood;
      if (std::isfinite(relative)) kept.push_back({ranked[m].hyperparameters, std::exp(relative)});
    }
    double total = 0;
    for (const auto& k : kept) total += k.weight;
    for (auto& k : kept) k.weight /= total;
    return kept;
  }

  // The mixture's mean and standard deviation (its moments; EHVI treats it as one Gaussian).
  GpPrediction AveragedScore(const std::vector<AccuracyPredictor>& models, const GpInput& x) const {
    double mean = 0, second_moment = 0;
    for (size_t m = 0; m < models.size(); ++m) {
      const GpPrediction p = models[m].PredictScore(x);
      mean += averaged_[m].weight * p.mean;
      second_moment += averaged_[m].weight * (p.stddev * p.stddev + p.mean * p.mean);
    }
    return {mean, std::sqrt(std::max(second_moment - mean * mean, 0.0))};
  }

  // Worth evaluating: within the constraints, costed on some device, and not a network that
  // ignores its input (chance accuracy, known without training). Skipping those cut the median
  // evaluations to the front by 2 to 5 on five of the six devices over 150 seeds (pixel3 30 ->
  // 25), and on none of them added any.
  bool Usable(const Candidate& candidate, const CostPreview& preview) const {
    if (preview.violation > 0 || space_.IgnoresInput(candidate)) return false;
    for (const auto& d : preview.per_device) {
      if (d) return true;
    }
    return false;
  }

  std::vector<Candidate> RandomFeasible(size_t n, Rng& rng) {
    std::vector<Candidate> batch;
    while (batch.size() < n) {
      auto c = Unseen(
          [&] {
            // Prefer a feasible draw; Unseen falls back to plain random ones if none comes.
            Candidate draw = space_.Sample(rng);
            for (int tries = 0; tries < 100 && !Usable(draw, costs_(draw)); ++tries) {
              draw = space_.Sample(rng);
            }
            return draw;
          },
          rng);
      if (!c) break;
      batch.push_back(std::move(*c));
    }
    return batch;
  }

  GpInput Features(const Candidate& c) const {
    NetworkSpec spec = space_.Expand(c);
    return {std::move(spec.choices), std::move(spec.features)};
  }

  // The observations with an accuracy; past max_train, the most accurate half and a random
  // draw of the rest, so the model stays sharp where the fronts are and cheap to fit.
  void TrainingSet(Rng& rng, std::vector<GpInput>& inputs, std::vector<double>& accuracies) const {
    std::vector<const Observation*> usable;
    for (const auto& o : history_) {
      if (o.accuracy) usable.push_back(&o);
    }
    const size_t cap = static_cast<size_t>(options_.max_train);
    if (usable.size() > cap) {
      std::stable_sort(usable.begin(), usable.end(), [](const Observation* a, const Observation* b) {
        return *a->accuracy > *b->accuracy;
      });
      std::vector<const Observation*> kept(usable.begin(), usable.begin() + cap / 2);
      std::vector<const Observation*> rest(usable.begin() + cap / 2, usable.end());
      for (size_t i = 0; kept.size() < cap; ++i) {
        const size_t j = i + rng.Below(rest.size() - i);
        std::swap(rest[i], rest[j]);
        kept.push_back(rest[i]);
      }
      usable = std::move(kept);
    }
    for (const auto* o : usable) {
      inputs.push_back(Features(o->candidate));
      accuracies.push_back(*o->accuracy);
    }
  }

  // Per device, the indices into history_ of its front (feasible observations only).
  std::vector<std::vector<size_t>> FrontIndices() const {
    const size_t devices = history_[0].per_device.size();
    std::vector<std::vector<size_t>> fronts(devices);
    for (size_t d = 0; d < devices; ++d) {
      std::vector<Objectives> points;
      std::vector<size_t> owners;
      for (size_t i = 0; i < history_.size(); ++i) {
        if (history_[i].per_device[d] && history_[i].violation == 0) {
          points.push_back(*history_[i].per_device[d]);
          owners.push_back(i);
        }
      }
      for (int j : ParetoFront(points)) fronts[d].push_back(owners[j]);
    }
    return fronts;
  }

  // The front members' free upgrades, then draws from the fronts' neighbourhoods and anywhere.
  std::vector<Option> Pool(const std::vector<std::vector<size_t>>& front_indices,
                           std::vector<Candidate> upgrades, Rng& rng) const {
    std::vector<const Candidate*> parents;
    for (const auto& o : history_) {
      if (o.accuracy) parents.push_back(&o.candidate);
    }
    // Parents: the members of any device's front.
    std::vector<const Candidate*> front_members;
    for (const auto& members : front_indices) {
      for (size_t i : members) front_members.push_back(&history_[i].candidate);
    }
    if (front_members.empty()) front_members = parents;

    std::vector<Option> pool;
    std::map<std::string, bool> in_pool;
    const size_t target = static_cast<size_t>(options_.pool);
    const int max_draws = 20 * options_.pool;
    auto offer = [&](Candidate c) {
      if (Seen(c) || !in_pool.emplace(space_.Format(c), true).second) return;
      CostPreview preview = costs_(c);
      if (Usable(c, preview)) pool.push_back({std::move(c), std::move(preview)});
    };
    for (Candidate& c : upgrades) offer(std::move(c));
    for (int draw = 0; draw < max_draws && pool.size() < target; ++draw) {
      // Half of the pool from the fronts' neighbourhoods, half from anywhere.
      offer(draw % 2 == 0 && !front_members.empty()
                ? space_.Mutate(*front_members[rng.Below(front_members.size())],
                                options_.mutation_rate, rng)
                : space_.Sample(rng));
    }
    return pool;
  }

  static void Insert(DeviceFront& front, const Objectives& point) {
    const auto at = std::upper_bound(front.points.begin(), front.points.end(), point,
                                     [](const Objectives& a, const Objectives& b) { return a[0] < b[0]; });
    front.points.insert(at, point);
  }

  std::vector<DeviceFront> Fronts(const std::vector<std::vector<size_t>>& front_indices,
                                  const std::vector<Option>& pool) const {
    const size_t devices = history_[0].per_device.size();
    std::vector<DeviceFront> fronts(devices);
    for (size_t d = 0; d < devices; ++d) {
      std::vector<const Objectives*> points;
      for (const auto& o : history_) {
        if (o.per_device[d] && o.violation == 0) points.push_back(&*o.per_device[d]);
      }
      // The objective box: error from 0 to the worst seen (like a front's nadir), costs from the
      // least to the most seen.
      double worst_error = 0;
      for (const auto* p : points) worst_error = std::max(worst_error, (*p)[0]);
      Objectives low, high;
      auto widen = [&](const Objectives& p) {
        if (low.empty()) {
          low = high = p;
          return;
        }
        for (size_t k = 0; k < p.size(); ++k) {
          low[k] = std::min(low[k], p[k]);
          high[k] = std::max(high[k], p[k]);
        }
      };
      for (const auto* p : points) widen(Objectives(p->begin() + 1, p->end()));
      for (const auto& option : pool) {
        if (option.costs.per_device[d]) widen(*option.costs.per_device[d]);
      }
      if (low.empty()) continue;
      auto& front = fronts[d];
      front.reference = {worst_error};
      front.scale = std::max(worst_error, 1e-12);
      for (size_t k = 0; k < high.size(); ++k) {
        front.reference.push_back(high[k]);
        front.scale *= std::max(high[k] - low[k], 1e-12);
      }
      for (size_t i : front_indices[d]) Insert(front, *history_[i].per_device[d]);
    }
    return fronts;
  }

  static double Acquisition(const std::vector<DeviceFront>& fronts, const CostPreview& costs,
                            const GpPrediction& score, const RankWarp& warp) {
    double total = 0;
    for (size_t d = 0; d < fronts.size(); ++d) {
      if (!costs.per_device[d] || fronts[d].reference.empty()) continue;
      total += ExpectedImprovement(fronts[d], *costs.per_device[d], score, warp);
    }
    return total;
  }

  static constexpr int kAsksPerHyperparameterSearch = 10;
  static constexpr size_t kSearchEveryAskBelow = 100;

  SamplerOptions options_;
  std::vector<Observation> history_;
  std::vector<WeightedHyperparameters> averaged_;  // of the last hyperparameter search
  int asks_since_search_ = 0;
};

}  // namespace

std::unique_ptr<Sampler> MakeGuidedSampler(const SamplerOptions& options, const SearchSpace& space,
                                           uint64_t seed, CostOracle costs) {
  return std::make_unique<GuidedSampler>(options, space, seed, std::move(costs));
}

}  // namespace hwnas
