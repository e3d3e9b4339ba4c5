// The guided sampler's own cost: seconds per proposed candidate (surrogate fit + acquisition
// over its pool) once 1,000 and 10,000 evaluations are stored, on NAS-Bench-201 with the six
// HW-NAS-Bench devices. It must stay far below one real proxy evaluation (seconds).
#include <chrono>
#include <cstdio>

#include "core/config_node.h"
#include "core/paths.h"
#include "evaluator/evaluator.h"
#include "hwmodels/device_model.h"
#include "search/sampler.h"

using namespace hwnas;

int main() {
  const std::string home = HWNAS_SOURCE_DIR;
  const auto space = LoadSearchSpace(home + "/configs/spaces/nb201.yaml");
  const auto evaluator = MakeEvaluator(
      ConfigNode::LoadString("evaluator: {kind: tabular, file: data/nas-bench-201/nb201_test_accuracy.csv, dataset: cifar10}",
                             home + "/bench.yaml")
          .Child("evaluator"));
  std::vector<std::unique_ptr<DeviceModel>> devices;
  for (const char* name : {"edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"}) {
    devices.push_back(LoadDeviceModel(DeviceConfigPath(name)));
  }
  auto costs = [&](const Candidate& c) {
    CostPreview preview;
    const NetworkSpec spec = space->Expand(c);
    for (const auto& d : devices) {
      const DeviceCost cost = d->Cost(spec);
      preview.per_device.push_back(cost.ok ? std::optional<Objectives>(Objectives{cost.latency_ms})
                                           : std::nullopt);
    }
    return preview;
  };
  std::printf("guided_overhead: sampler milliseconds per proposed candidate over 20 asks, 6 devices, pool 1000\n");
  std::printf("| stored evaluations | max_train | batch | ms per candidate |\n|---|---|---|---|\n");
  // Ask and tell `asks` batches after the history is in, timing only the asks: one of every
  // ten fits also searches the GP's hyperparameters, so this is the cost a run sees.
  auto tell = [&](Sampler& sampler, const std::vector<Candidate>& asked) {
    std::vector<Observation> observations;
    for (const auto& c : asked) {
      const EvalResult eval = evaluator->Evaluate(space->Expand(c));
      Observation o{c, eval.accuracy, {}, 0.0};
      for (const auto& cost : costs(c).per_device) {
        o.per_device.push_back(cost ? std::optional<Objectives>(Objectives{100 - eval.accuracy, (*cost)[0]})
                                    : std::nullopt);
      }
      observations.push_back(std::move(o));
    }
    sampler.Tell(std::move(observations));
  };
  constexpr int kAsks = 20;
  for (int stored : {1000, 10000}) {
    for (int batch : {1, 10}) {
      SamplerOptions options{.kind = "guided"};
      options.warmup = stored;  // the first `stored` proposals are random: a stand-in history
      auto sampler = MakeSampler(options, *space, 0, costs);
      for (int told = 0; told < stored;) {
        const auto asked = sampler->Ask(static_cast<size_t>(std::min(1000, stored - told)));
        told += static_cast<int>(asked.size());
        tell(*sampler, asked);
      }
      double seconds = 0;
      size_t proposed = 0;
      for (int ask = 0; ask < kAsks; ++ask) {
        const auto asked = sampler->Ask(static_cast<size_t>(batch));
        seconds += sampler->last_ask_seconds();
        proposed += asked.size();
        tell(*sampler, asked);
      }
      std::printf("| %d | %d | %d | %.1f |\n", stored, options.max_train, batch, 1e3 * seconds / proposed);
    }
  }
  return 0;
}
