#include "search/search_space.h"

#include <cmath>
#include <set>

#include "core/errors.h"
#include "core/kind_registry.h"

namespace hwnas {

namespace {

const KindRegistry<SearchSpace>& Registry() {
  static const KindRegistry<SearchSpace> registry = {
      {"nb201", MakeNb201Space},
      {"categorical", MakeCategoricalSpace},
      {"fbnet", MakeFbnetSpace},
      {"fmnist", MakeFmnistSpace},
  };
  return registry;
}

// Rules may reject some draws; a space whose rules reject everything is a config bug that must
// not hang the sampler.
constexpr int kMaxDraws = 10000;

}  // namespace

SearchSpace::SearchSpace(std::string name, std::vector<Knob> knobs)
    : name_(std::move(name)), knobs_(std::move(knobs)) {}

std::string SearchSpace::Format(const Candidate& candidate) const {
  HWNAS_CHECK(candidate.choices.size() == knobs_.size());
  std::string text;
  for (size_t k = 0; k < knobs_.size(); ++k) {
    if (k) text += ';';
    text += knobs_[k].name + "=" + knobs_[k].choices[candidate.choices[k]];
  }
  return text;
}

Candidate SearchSpace::Parse(std::string_view text) const {
  Candidate candidate;
  size_t start = 0;
  for (size_t k = 0; k < knobs_.size(); ++k) {
    if (start > text.size()) {
      throw ConfigError("candidate '" + std::string(text) + "': missing knob '" + knobs_[k].name +
                        "' at position " + std::to_string(k + 1));
    }
    const size_t end = std::min(text.find(';', start), text.size());
    const std::string_view item = text.substr(start, end - start);
    const std::string expected = knobs_[k].name + "=";
    if (item.substr(0, expected.size()) != expected) {
      throw ConfigError("candidate '" + std::string(text) + "': expected knob '" +
                        knobs_[k].name + "' at position " + std::to_string(k + 1));
    }
    const std::string_view value = item.substr(expected.size());
    const auto& choices = knobs_[k].choices;
    const auto it = std::find(choices.begin(), choices.end(), value);
    if (it == choices.end()) {
      throw ConfigError("candidate '" + std::string(text) + "': knob '" + knobs_[k].name +
                        "' has no choice '" + std::string(value) +
                        "'; valid: " + JoinNames(choices));
    }
    candidate.choices.push_back(static_cast<int>(it - choices.begin()));
    start = end + 1;
  }
  // The last knob must end the text: no trailing separator, nothing after it.
  if (start != text.size() + 1) {
    throw ConfigError("candidate '" + std::string(text) + "': unexpected text after the last knob");
  }
  if (!IsValid(candidate)) {
    throw ConfigError("candidate '" + std::string(text) + "' breaks the space's rules");
  }
  return candidate;
}

bool SearchSpace::IsValid(const Candidate& candidate) const {
  if (candidate.choices.size() != knobs_.size()) return false;
  for (size_t k = 0; k < knobs_.size(); ++k) {
    const int c = candidate.choices[k];
    if (c < 0 || c >= static_cast<int>(knobs_[k].choices.size())) return false;
  }
  return true;
}

double SearchSpace::Size() const { return GridSize(); }

double SearchSpace::GridSize() const {
  double size = 1;
  for (const auto& knob : knobs_) size *= static_cast<double>(knob.choices.size());
  return size;
}

Candidate SearchSpace::GridPoint(uint64_t index) const {
  Candidate c;
  for (const auto& knob : knobs_) {
    c.choices.push_back(static_cast<int>(index % knob.choices.size()));
    index /= knob.choices.size();
  }
  return c;
}

std::vector<Candidate> SearchSpace::AllValid() const {
  constexpr double kLimit = 1e6;
  if (GridSize() > kLimit) {
    throw ConfigError("space '" + name_ + "' has " + std::to_string(GridSize()) +
                      " grid points, too many to list (limit 1e6)");
  }
  std::vector<Candidate> all;
  for (uint64_t i = 0; i < static_cast<uint64_t>(GridSize()); ++i) {
    Candidate candidate = GridPoint(i);
    if (IsValid(candidate)) all.push_back(std::move(candidate));
  }
  return all;
}

NetworkSpec SearchSpace::Expand(const Candidate& candidate) const {
  NetworkSpec spec = BuildNetwork(candidate);
  spec.key = Format(candidate);
  spec.choices = LearnedChoices(candidate);
  spec.features = Features(candidate, spec);
  return spec;
}

std::vector<double> SearchSpace::Features(const Candidate&, const NetworkSpec& spec) const {
  return {std::log1p(static_cast<double>(spec.Macs())), std::log1p(static_cast<double>(spec.Params()))};
}

template <typename Generate>
Candidate SearchSpace::FirstValid(Generate generate) const {
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    Candidate candidate = Canonical(generate());
    if (IsValid(candidate)) return candidate;
  }
  throw ConfigError("space '" + name_ + "': no valid candidate in " +
                    std::to_string(kMaxDraws) + " draws; do its rules leave it empty?");
}

Candidate SearchSpace::Extreme(bool largest) const {
  Candidate c;
  for (const auto& knob : knobs_) c.choices.push_back(largest ? static_cast<int>(knob.choices.size()) - 1 : 0);
  return Canonical(c);
}

Candidate SearchSpace::Sample(Rng& rng) const {
  return FirstValid([&] {
    Candidate c;
    for (const auto& knob : knobs_) c.choices.push_back(static_cast<int>(rng.Below(knob.choices.size())));
    return c;
  });
}

Candidate SearchSpace::Mutate(const Candidate& parent, double rate, Rng& rng) const {
  return FirstValid([&] {
    Candidate child = parent;
    // One knob always changes, so a mutation never returns its parent.
    const size_t forced = rng.Below(knobs_.size());
    for (size_t k = 0; k < knobs_.size(); ++k) {
      const size_t n = knobs_[k].choices.size();
      if (n < 2 || (k != forced && !rng.Bernoulli(rate))) continue;
      child.choices[k] = MutatedChoice(k, parent.choices[k], rng);
    }
    // A change of knobs without effect only is no mutation: an empty candidate is never valid.
    return Canonical(child) == parent ? Candidate{} : child;
  });
}

int SearchSpace::MutatedChoice(size_t knob, int current, Rng& rng) const {
  // A knob with one choice has no other: a cut-down space (every layer at fp32) keeps it.
  if (knobs_[knob].choices.size() < 2) return current;
  // Draw among the other n - 1 choices.
  const int other = static_cast<int>(rng.Below(knobs_[knob].choices.size() - 1));
  return other >= current ? other + 1 : other;
}

Candidate SearchSpace::Crossover(const Candidate& a, const Candidate& b, Rng& rng) const {
  return FirstValid([&] {
    Candidate child = a;
    for (size_t k = 0; k < knobs_.size(); ++k) {
      if (rng.Bernoulli(0.5)) child.choices[k] = b.choices[k];
    }
    return child;
  });
}

std::unique_ptr<SearchSpace> MakeSearchSpace(const ConfigNode& config) {
  return Registry().Make(config);
}

std::vector<NetworkSpec> DistinctSampledNetworks(const SearchSpace& space, size_t count, Rng& rng) {
  std::vector<NetworkSpec> specs;
  std::set<std::string> seen;
  for (size_t draws = 0; specs.size() < count; ++draws) {
    if (draws == 1000 * count) {
      throw UnsupportedError("space '" + space.name() + "' gave only " +
                             std::to_string(specs.size()) + " distinct networks in " +
                             std::to_string(draws) + " draws; " + std::to_string(count) +
                             " were asked for");
    }
    NetworkSpec spec = space.Expand(space.Sample(rng));
    if (seen.insert(spec.key).second) specs.push_back(std::move(spec));
  }
  return specs;
}

std::unique_ptr<SearchSpace> LoadSearchSpace(const std::string& path) {
  return MakeSearchSpace(ConfigNode::LoadFile(path));
}

}  // namespace hwnas
