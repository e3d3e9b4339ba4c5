#include "search/free_upgrade.h"

namespace hwnas {

namespace {

// Costs equal up to rounding are equal: a model's sums may differ in the last bits.
constexpr double kRelativeTolerance = 1e-9;

bool NoDearer(const CostPreview& preview, size_t device, const Objectives& limit,
              double violation) {
  const auto& costs = preview.per_device[device];
  if (!costs || preview.violation > violation) return false;
  for (size_t k = 0; k < limit.size(); ++k) {
    if ((*costs)[k] > limit[k] * (1 + kRelativeTolerance)) return false;
  }
  return true;
}

}  // namespace

Candidate FreeUpgrade(const SearchSpace& space, const Candidate& candidate, size_t device,
                      const CostOracle& costs) {
  const CostPreview start = costs(candidate);
  if (device >= start.per_device.size() || !start.per_device[device]) return candidate;
  const Objectives limit = *start.per_device[device];
  Candidate current = candidate;
  for (size_t knob = 0; knob < space.knobs().size(); ++knob) {
    for (bool stepped = true; stepped;) {
      stepped = false;
      for (int choice : space.FaithfulSteps(knob, current.choices[knob])) {
        Candidate next = current;
        next.choices[knob] = choice;
        next = space.Canonical(std::move(next));  // a knob without effect changes nothing
        if (next == current || !space.IsValid(next)) continue;
        if (!NoDearer(costs(next), device, limit, start.violation)) continue;
        current = std::move(next);
        stepped = true;
        break;
      }
    }
  }
  return current;
}

}  // namespace hwnas
