// Surrogate inputs for the evaluator tests: 6 categorical knobs of 4 choices and 2 numeric
// features (think log MACs and log params), drawn by a seed.
#pragma once

#include <vector>

#include "core/rng.h"
#include "evaluator/gaussian_process.h"

namespace hwnas::test {

inline constexpr int kKnobs = 6;
inline constexpr int kChoices = 4;

inline std::vector<GpInput> RandomInputs(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<GpInput> inputs(n);
  for (auto& in : inputs) {
    for (int k = 0; k < kKnobs; ++k) in.categorical.push_back(static_cast<int>(rng.Below(kChoices)));
    in.numeric = {3 * rng.Uniform(), 2 * rng.Uniform() - 1};
  }
  return inputs;
}

}  // namespace hwnas::test
