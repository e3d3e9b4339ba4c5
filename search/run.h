// The Run controller: one search.
//
//   loop until the budget is spent:
//     Sampler.Ask(batch) -> candidates
//     oneTBB parallel: Evaluator(candidate); for each device: DeviceModel(NetworkSpec)
//     Store.WriteBatch(batch + fronts, one transaction); Sampler.Tell(results)
//
// Each accuracy evaluation serves every device; a failed one is stored as FAIL and the run goes
// on. A killed run resumes by replaying its stored batches through a fresh sampler (which
// proposes the same candidates, being seeded the same), so nothing is evaluated twice and the
// final fronts equal those of an uninterrupted run.
#pragma once

#include <atomic>

#include <tbb/task_arena.h>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "evaluator/evaluator.h"
#include "hwmodels/device_model.h"
#include "search/run_config.h"
#include "search/sampler.h"
#include "search/search_space.h"
#include "store/store.h"

namespace hwnas {

struct RunProgress {
  int64_t done = 0;
  int64_t total = 0;
  int64_t failures = 0;
  double elapsed_seconds = 0;
  double best_accuracy = 0;  // among successful evaluations so far
  double sampler_seconds = 0;  // the sampler's own time (fitting, acquisition) this session
  std::vector<std::pair<std::string, size_t>> front_sizes;  // per device
  bool finished = false;
};

struct RunSummary {
  int64_t run_id = 0;
  int64_t evaluations = 0;
  int64_t failures = 0;
  std::string status;
  double seconds = 0;
};

// What a training evaluator needs of a space: its largest and smallest networks and a sampler
// (empty for a space whose extreme candidates break its rules).
EvaluatorContext MakeEvaluatorContext(const SearchSpace& space, const PreparationProgress& progress);

class Run {
 public:
  // Builds the space, evaluator, devices and sampler, so every config error surfaces before a
  // database is touched. An evaluator that trains (distill) prepares its teacher and supernet
  // here, reporting on `preparation`.
  explicit Run(RunConfig config, const PreparationProgress& preparation = {});
  Run(const Run&) = delete;  // the sampler holds a callback into this object
  Run& operator=(const Run&) = delete;

  // A new run in `store`; or, with resume_run_id, continues that run.
  RunSummary Execute(Store& store, std::optional<int64_t> resume_run_id,
                     const std::function<void(const RunProgress&)>& progress,
                     const std::atomic<bool>* stop_requested = nullptr);

  const SearchSpace& space() const { return *space_; }
  const std::vector<std::unique_ptr<DeviceModel>>& devices() const { return devices_; }
  const Evaluator& evaluator() const { return *evaluator_; }

 private:
  EvaluationRecord EvaluateOne(const Candidate& candidate) const;
  Observation Observe(const Candidate& candidate, const EvaluationRecord& record) const;
  // What the device models say of a candidate before it is evaluated.
  CostPreview Preview(const Candidate& candidate) const;
  std::optional<Objectives> CostObjectives(const DeviceCost& cost) const;
  double Violation(const std::vector<DeviceCost>& costs) const;
  // Each device's front after the observations from `first_new` on joined the history.
  std::map<std::string, std::vector<uint64_t>> UpdateFronts(size_t first_new);
  // The end of a run: every front member (of any device) without a final result yet gets the
  // evaluator's final one (trained longer, scored on the test set), written as it comes.
  void Finalize(Store& store, int64_t run_id, tbb::task_arena& arena,
                const std::atomic<bool>* stop_requested);

  RunConfig config_;
  PreparationProgress preparation_;
  std::unique_ptr<SearchSpace> space_;
  std::unique_ptr<Evaluator> evaluator_;
  std::vector<std::unique_ptr<DeviceModel>> devices_;
  std::unique_ptr<Sampler> sampler_;
  std::vector<Observation> history_;
  std::vector<uint64_t> history_hashes_;
  std::vector<std::vector<size_t>> front_members_;  // per device, indices into history_
};

}  // namespace hwnas
