#include "nn/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/errors.h"

namespace hwnas {

namespace {

// Cosine interpolation from `start` (at fraction 0) to `end` (at fraction 1).
double CosineBetween(double start, double end, double fraction) {
  return end + (start - end) * (1 + std::cos(std::numbers::pi * std::clamp(fraction, 0.0, 1.0))) / 2;
}

class Cosine : public Schedule {
 public:
  Cosine(double peak, double floor, int64_t total) : peak_(peak), floor_(floor), total_(total) {
    HWNAS_CHECK(total > 0 && peak >= floor && floor >= 0);
  }
  void Apply(int64_t step, Optimizer& optimizer) const override {
    optimizer.set_learning_rate(CosineBetween(peak_, floor_, static_cast<double>(step) / total_));
  }

 private:
  double peak_, floor_;
  int64_t total_;
};

class OneCycle : public Schedule {
 public:
  OneCycle(double peak, int64_t total) : peak_(peak), total_(total) {
    HWNAS_CHECK(total >= 1 && peak > 0);
  }
  void Apply(int64_t step, Optimizer& optimizer) const override {
    constexpr double kWarmShare = 0.3, kDiv = 25, kFinalDiv = 1e4;
    constexpr double kMaxMomentum = 0.95, kBaseMomentum = 0.85;
    // PyTorch's phase ends: step 0.3*total - 1 is the peak, step total - 1 the end.
    const double warm_end = kWarmShare * total_ - 1;
    const double s = static_cast<double>(step);
    if (s <= warm_end) {
      const double f = s / warm_end;
      optimizer.set_learning_rate(CosineBetween(peak_ / kDiv, peak_, f));
      optimizer.set_momentum(CosineBetween(kMaxMomentum, kBaseMomentum, f));
    } else {
      const double f = (s - warm_end) / std::max(total_ - 1 - warm_end, 1e-12);
      optimizer.set_learning_rate(CosineBetween(peak_, peak_ / kDiv / kFinalDiv, f));
      optimizer.set_momentum(CosineBetween(kBaseMomentum, kMaxMomentum, f));
    }
  }

 private:
  double peak_;
  int64_t total_;
};

}  // namespace

std::unique_ptr<Schedule> MakeCosineSchedule(double peak, double floor, int64_t total_steps) {
  return std::make_unique<Cosine>(peak, floor, total_steps);
}

std::unique_ptr<Schedule> MakeOneCycleSchedule(double peak, int64_t total_steps) {
  return std::make_unique<OneCycle>(peak, total_steps);
}

}  // namespace hwnas
