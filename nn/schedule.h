// Learning-rate schedules, by optimizer step. Each sets the optimizer's learning rate (and, for
// one-cycle, its momentum) before a step.
#pragma once

#include <cstdint>
#include <memory>

#include "nn/optimizer.h"

namespace hwnas {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual void Apply(int64_t step, Optimizer& optimizer) const = 0;
};

// Cosine annealing from `peak` to `floor` over `total_steps`.
std::unique_ptr<Schedule> MakeCosineSchedule(double peak, double floor, int64_t total_steps);

// One-cycle (Smith 2018), as PyTorch's OneCycleLR with cosine annealing: the rate rises from
// peak/25 to peak over the first 30% of the steps while momentum falls from 0.95 to 0.85, then
// the rate falls to peak/(25*1e4) while momentum rises back.
std::unique_ptr<Schedule> MakeOneCycleSchedule(double peak, int64_t total_steps);

}  // namespace hwnas
