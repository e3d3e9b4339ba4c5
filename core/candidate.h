// A point of a search space: one choice index per knob. What the indices mean, and the canonical
// string that names the point, belong to the SearchSpace that made it.
#pragma once

#include <compare>
#include <cstdint>
#include <string_view>
#include <vector>

namespace hwnas {

struct Candidate {
  std::vector<int> choices;  // choices[k] indexes knob k's choice list

  auto operator<=>(const Candidate&) const = default;
};

// The stable 64-bit dedup key of a candidate: the StableHash of its canonical string.
uint64_t CandidateHash(std::string_view canonical);

}  // namespace hwnas
