#include "search/run.h"

#include <set>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <tuple>

#include "core/errors.h"
#include "core/paths.h"

namespace hwnas {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string DeviceNames(const std::vector<std::unique_ptr<DeviceModel>>& devices) {
  std::string names;
  for (const auto& d : devices) names += (names.empty() ? "" : ",") + d->name();
  return names;
}

}  // namespace

EvaluatorContext MakeEvaluatorContext(const SearchSpace& space, const PreparationProgress& progress) {
  EvaluatorContext context;
  context.progress = progress;
  const Candidate largest = space.Extreme(true), smallest = space.Extreme(false);
  if (space.IsValid(largest) && space.IsValid(smallest)) {
    context.space = {space.Expand(largest), space.Expand(smallest),
                     [&space](Rng& rng) { return space.Expand(space.Sample(rng)); },
                     space.ArchitectureKey()};
  }
  return context;
}

Run::Run(RunConfig config, const PreparationProgress& preparation)
    : config_(std::move(config)), preparation_(preparation) {
  space_ = LoadSearchSpace(config_.space_path);
  evaluator_ = MakeEvaluator(config_.Evaluator(),
                             MakeEvaluatorContext(*space_, preparation));
  std::vector<std::string> with_energy;
  for (const auto& path : config_.device_paths) {
    devices_.push_back(LoadDeviceModel(path));
    if (devices_.back()->info().provides_energy) with_energy.push_back(devices_.back()->name());
  }
  if (config_.energy_objective && with_energy.size() != devices_.size()) {
    for (const auto& d : devices_) {
      if (!d->info().provides_energy) {
        throw ConfigError(config_.origin + ": objective 'energy': device '" + d->name() +
                          "' provides no energy; devices here with energy: " +
                          (with_energy.empty() ? "none" : JoinNames(with_energy)));
      }
    }
  }
  sampler_ = MakeSampler(config_.sampler, *space_, config_.seed,
                         [this](const Candidate& c) { return Preview(c); });
}

EvaluationRecord Run::EvaluateOne(const Candidate& candidate) const {
  EvaluationRecord r;
  r.canonical = space_->Format(candidate);
  r.hash = CandidateHash(r.canonical);
  // Nothing may escape a parallel task: an exception becomes this candidate's FAIL row.
  try {
    const NetworkSpec spec = space_->Expand(candidate);
    const EvalResult eval = evaluator_->Evaluate(spec);
    r.status = std::string(EvalStatusName(eval.status));
    r.error = eval.error;
    r.accuracy = eval.accuracy;
    r.metrics = eval.metrics;
    r.seconds = eval.seconds;
    for (const auto& device : devices_) {
      const DeviceCost cost = device->Cost(spec);
      r.devices.push_back(DeviceRecord{device->name(), cost.ok ? "OK" : "FAIL", cost.error,
                                       cost.latency_ms, cost.energy_mj,
                                       std::string(CostSourceName(cost.source))});
    }
  } catch (const std::exception& e) {
    r.status = "FAIL";
    r.error = e.what();
    r.devices.clear();
  }
  return r;
}

std::optional<Objectives> Run::CostObjectives(const DeviceCost& cost) const {
  if (!cost.ok || (config_.energy_objective && !cost.energy_mj)) return std::nullopt;
  Objectives objectives = {cost.latency_ms};
  if (config_.energy_objective) objectives.push_back(*cost.energy_mj);
  return objectives;
}

double Run::Violation(const std::vector<DeviceCost>& costs) const {
  double violation = 0;
  for (const auto& c : config_.constraints) {
    for (size_t d = 0; d < devices_.size(); ++d) {
      if (devices_[d]->name() != c.device) continue;
      if (!costs[d].ok) {
        violation += 1.0;  // a cost we cannot know cannot be shown to fit the budget
        continue;
      }
      if (c.max_latency_ms) violation += std::max(0.0, costs[d].latency_ms / *c.max_latency_ms - 1.0);
      if (c.max_energy_mj) {
        violation += costs[d].energy_mj
                         ? std::max(0.0, *costs[d].energy_mj / *c.max_energy_mj - 1.0)
                         : 1.0;
      }
    }
  }
  return violation;
}

CostPreview Run::Preview(const Candidate& candidate) const {
  const NetworkSpec spec = space_->Expand(candidate);
  std::vector<DeviceCost> costs;
  CostPreview preview;
  for (const auto& device : devices_) {
    costs.push_back(device->Cost(spec));
    preview.per_device.push_back(CostObjectives(costs.back()));
  }
  preview.violation = Violation(costs);
  return preview;
}

Observation Run::Observe(const Candidate& candidate, const EvaluationRecord& record) const {
  Observation o;
  o.candidate = candidate;
  o.per_device.resize(devices_.size());
  std::vector<DeviceCost> costs(devices_.size());
  for (size_t d = 0; d < devices_.size() && d < record.devices.size(); ++d) {
    const auto& r = record.devices[d];
    costs[d].ok = r.status == "OK";
    costs[d].error = r.error;
    costs[d].latency_ms = r.latency_ms;
    costs[d].energy_mj = r.energy_mj;
    costs[d].source = CostSource::kMeasured;
  }
  o.violation = Violation(costs);
  if (record.status != "OK") return o;
  o.accuracy = record.accuracy;
  for (size_t d = 0; d < devices_.size(); ++d) {
    if (auto cost = CostObjectives(costs[d])) {
      Objectives objectives = {100.0 - record.accuracy};
      objectives.insert(objectives.end(), cost->begin(), cost->end());
      o.per_device[d] = std::move(objectives);
    }
  }
  return o;
}

std::map<std::string, std::vector<uint64_t>> Run::UpdateFronts(size_t first_new) {
  // A point dominated once stays dominated, so each front is recomputed from its members and
  // the new observations only.
  std::map<std::string, std::vector<uint64_t>> fronts;
  front_members_.resize(devices_.size());
  for (size_t d = 0; d < devices_.size(); ++d) {
    std::vector<size_t> pool = front_members_[d];
    for (size_t i = first_new; i < history_.size(); ++i) pool.push_back(i);
    std::vector<Objectives> points;
    std::vector<size_t> owners;
    for (size_t i : pool) {
      const auto& objectives = history_[i].per_device[d];
      if (objectives && history_[i].violation == 0.0) {
        points.push_back(*objectives);
        owners.push_back(i);
      }
    }
    front_members_[d].clear();
    auto& hashes = fronts[devices_[d]->name()];
    for (int j : ParetoFront(points)) {
      front_members_[d].push_back(owners[j]);
      hashes.push_back(history_hashes_[owners[j]]);
    }
  }
  return fronts;
}

RunSummary Run::Execute(Store& store, std::optional<int64_t> resume_run_id,
                        const std::function<void(const RunProgress&)>& progress,
                        const std::atomic<bool>* stop_requested) {
  const auto start = Clock::now();
  RunSummary summary;
  RunProgress status;
  status.total = config_.budget_evaluations;
  int batch_index = 0;

  auto record_progress = [&](const std::vector<EvaluationRecord>& batch) {
    for (const auto& r : batch) {
      ++status.done;
      if (r.status == "OK") {
        status.best_accuracy = std::max(status.best_accuracy, r.accuracy);
      } else {
        ++status.failures;
      }
    }
  };

  if (resume_run_id) {
    summary.run_id = *resume_run_id;
    // Replay: the sampler, seeded as before, must propose exactly the stored batches.
    const auto stored = store.RunEvaluations(summary.run_id);
    size_t i = 0;
    while (i < stored.size()) {
      const int batch = stored[i].batch;
      size_t end = i;
      while (end < stored.size() && stored[end].batch == batch) ++end;
      const auto asked = sampler_->Ask(end - i);
      std::vector<Observation> observations;
      std::vector<EvaluationRecord> records(stored.begin() + i, stored.begin() + end);
      for (size_t j = 0; j < asked.size(); ++j) {
        if (space_->Format(asked[j]) != records[j].canonical) {
          throw DatabaseError(store.path() + ": run " + std::to_string(summary.run_id) +
                              " cannot be resumed: batch " + std::to_string(batch) +
                              " differs from what the sampler proposes now (was the config, a "
                              "data file or hwnas changed?)");
        }
        observations.push_back(Observe(asked[j], records[j]));
        history_.push_back(observations.back());
        history_hashes_.push_back(records[j].hash);
      }
      sampler_->Tell(std::move(observations));
      UpdateFronts(history_.size() - records.size());
      record_progress(records);
      batch_index = batch + 1;
      i = end;
    }
    store.SetRunStatus(summary.run_id, "running");
  } else {
    RunRecord run;
    run.config = config_.text;
    run.config_path = config_.origin;
    run.seed = config_.seed;
    run.app_version = AppVersion();
    run.space = space_->name();
    run.sampler = config_.sampler.kind;
    run.devices = DeviceNames(devices_);
    summary.run_id = store.CreateRun(run);
  }

  tbb::task_arena arena(config_.threads > 0 ? config_.threads : tbb::task_arena::automatic);
  summary.status = "done";
  while (status.done < config_.budget_evaluations) {
    if (stop_requested && stop_requested->load()) {
      summary.status = "interrupted";
      break;
    }
    if (config_.budget_seconds > 0 && SecondsSince(start) >= config_.budget_seconds) break;
    const auto want = std::min<int64_t>(config_.batch, config_.budget_evaluations - status.done);
    const auto candidates = sampler_->Ask(static_cast<size_t>(want));
    if (candidates.empty()) break;  // the space is exhausted

    std::vector<EvaluationRecord> records(candidates.size());
    arena.execute([&] {
      tbb::parallel_for(size_t{0}, candidates.size(), [&](size_t i) {
        // Isolated: a thread waiting inside one evaluation's training must not start another
        // candidate, whose time would be counted in this one's stored seconds.
        tbb::this_task_arena::isolate([&] { records[i] = EvaluateOne(candidates[i]); });
      });
    });

    std::vector<Observation> observations;
    const size_t first_new = history_.size();
    for (size_t i = 0; i < records.size(); ++i) {
      records[i].batch = batch_index;
      records[i].seq = static_cast<int>(i);
      observations.push_back(Observe(candidates[i], records[i]));
      history_.push_back(observations.back());
      history_hashes_.push_back(records[i].hash);
    }
    const auto fronts = UpdateFronts(first_new);
    store.WriteBatch(summary.run_id, records, fronts, sampler_->last_ask_seconds());
    status.sampler_seconds += sampler_->last_ask_seconds();
    sampler_->Tell(std::move(observations));
    ++batch_index;

    record_progress(records);
    status.elapsed_seconds = SecondsSince(start);
    status.front_sizes.clear();
    for (const auto& [device, members] : fronts) status.front_sizes.emplace_back(device, members.size());
    if (progress) progress(status);
  }
  if (summary.status == "done") Finalize(store, summary.run_id, arena, stop_requested);
  if (stop_requested && stop_requested->load()) summary.status = "interrupted";
  store.SetRunStatus(summary.run_id, summary.status);
  status.finished = true;
  status.elapsed_seconds = SecondsSince(start);
  if (progress) progress(status);
  summary.evaluations = status.done;
  summary.failures = status.failures;
  summary.seconds = status.elapsed_seconds;
  return summary;
}

void Run::Finalize(Store& store, int64_t run_id, tbb::task_arena& arena,
                   const std::atomic<bool>* stop_requested) {
  std::set<size_t> most_accurate;
  for (const auto& front : front_members_) {
    const auto best = std::max_element(front.begin(), front.end(), [&](size_t a, size_t b) {
      return history_[a].accuracy.value_or(0) < history_[b].accuracy.value_or(0);
    });
    if (best != front.end()) most_accurate.insert(*best);
  }
  const auto role_of = [&](size_t i) {
    return most_accurate.count(i) ? Evaluator::FinalRole::kMostAccurate : Evaluator::FinalRole::kMember;
  };
  // Progress counts training steps, not members: a longer schedule takes longer.
  const std::set<uint64_t> done = store.FinalizedCandidates(run_id);
  std::set<size_t> members;
  for (const auto& front : front_members_) members.insert(front.begin(), front.end());
  int64_t total_steps = 0, done_steps = 0;
  std::vector<size_t> pending;
  for (size_t i : members) {
    const int64_t steps = evaluator_->FinalSteps(role_of(i));
    total_steps += steps;
    if (done.count(history_hashes_[i])) {
      done_steps += steps;
    } else {
      pending.push_back(i);
    }
  }
  if (total_steps == 0 || pending.empty()) return;  // no final stage, or all of it is stored
  // Longest schedules first, then costliest, so each parallel batch holds work of like size and
  // no thread waits long on another's. The order changes no result: each is trained alone.
  std::vector<std::tuple<int64_t, int64_t, size_t>> by_cost;
  for (size_t i : pending) {
    by_cost.emplace_back(-evaluator_->FinalSteps(role_of(i)),
                         -space_->Expand(history_[i].candidate).Macs(), i);
  }
  std::sort(by_cost.begin(), by_cost.end());
  for (size_t k = 0; k < pending.size(); ++k) pending[k] = std::get<2>(by_cost[k]);
  if (preparation_) preparation_("final training steps", done_steps, total_steps);
  // In batches of the run's batch size, each batch's results stored before the next starts.
  const size_t batch = static_cast<size_t>(std::max(config_.batch, 1));
  for (size_t first = 0; first < pending.size(); first += batch) {
    if (stop_requested && stop_requested->load()) return;
    const size_t end = std::min(pending.size(), first + batch);
    std::vector<EvalResult> results(end - first);
    arena.execute([&] {
      tbb::parallel_for(first, end, [&](size_t k) {
        try {
          tbb::this_task_arena::isolate([&] {  // its seconds are its own, as above
            results[k - first] = evaluator_->FinalEvaluate(
                space_->Expand(history_[pending[k]].candidate), role_of(pending[k]));
          });
        } catch (const std::exception& e) {
          results[k - first].error = e.what();
        }
      });
    });
    for (size_t k = first; k < end; ++k) {
      const EvalResult& result = results[k - first];
      const int64_t steps = evaluator_->FinalSteps(role_of(pending[k]));
      store.WriteFinalResult(run_id, history_hashes_[pending[k]],
                             {std::string(EvalStatusName(result.status)), result.error,
                              result.accuracy, result.seconds, steps});
      done_steps += steps;
    }
    if (preparation_) preparation_("final training steps", done_steps, total_steps);
  }
}

}  // namespace hwnas
