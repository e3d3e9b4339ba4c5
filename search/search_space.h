// A search space: named categorical knobs, validity rules, and what a candidate expands to.
// Samples, mutates and crosses candidates, and prints and parses their canonical strings.
//
// Kinds (the space YAML's `kind:` key):
//   nb201        the NAS-Bench-201 cell: 6 edges x 5 ops, canonical string = its arch string
//   categorical  any list of knobs; canonical string "knob=choice;knob=choice;..."
//   fbnet        HW-NAS-Bench's FBNet network: 22 layers x 9 blocks, CIFAR-100 or ImageNet
//   fmnist       MobileNetV2-like networks for 28 x 28 grey images with a compression policy
//                per layer (search/fmnist_space.cc)
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/candidate.h"
#include "core/config_node.h"
#include "core/network_spec.h"
#include "core/rng.h"

namespace hwnas {

struct Knob {
  std::string name;
  std::vector<std::string> choices;
};

class SearchSpace {
 public:
  SearchSpace(std::string name, std::vector<Knob> knobs);
  virtual ~SearchSpace() = default;

  const std::string& name() const { return name_; }
  const std::vector<Knob>& knobs() const { return knobs_; }

  // The canonical string: Parse(Format(c)) == c for every valid c.
  virtual std::string Format(const Candidate& candidate) const;
  // Throws ConfigError naming the offending part and the valid choices.
  virtual Candidate Parse(std::string_view text) const;
  // The network, with the candidate's choices and Features() attached for learned models.
  NetworkSpec Expand(const Candidate& candidate) const;
  // The space's validity rules; every knob index in range is the base rule.
  virtual bool IsValid(const Candidate& candidate) const;
  // The one candidate a knob assignment stands for: knobs without effect (the blocks beyond a
  // stage's depth) set to their first choice, so equal networks share one hash. Identity by
  // default; what Sample, Mutate and Crossover return is always canonical.
  virtual Candidate Canonical(Candidate candidate) const { return candidate; }
  // Whether the network provably ignores its input (in a cell space: no path from the cell's
  // input to its output that no `none` edge cuts), so its accuracy is chance without training.
  // A sampler that learns never spends an evaluation on one. False by default.
  virtual bool IgnoresInput(const Candidate&) const { return false; }
  // How many candidates the space holds.
  virtual double Size() const;
  // Points of the knob grid (valid or not), and the index-th of them in mixed radix order.
  double GridSize() const;
  Candidate GridPoint(uint64_t index) const;
  // Every valid candidate, in grid order. Throws ConfigError for a space too large to list.
  std::vector<Candidate> AllValid() const;

  // The choices one step from `current` that keep more of a layer and nothing less (more bits,
  // less sparsity or more rank): for knobs that hold a compression policy; none by default.
  virtual std::vector<int> FaithfulSteps(size_t /*knob*/, int /*current*/) const { return {}; }

  // What determines the space's architectures (not their compression policies): spaces that
  // differ only in policies share a supernet. By default the space's name.
  virtual std::string ArchitectureKey() const { return name_; }
  // Every knob at its last (largest) or first (smallest) choice; for a space whose choices
  // grow along their lists, its largest and smallest network.
  Candidate Extreme(bool largest) const;

  // By default every knob uniformly; a space may draw from a prior that knows its structure.
  virtual Candidate Sample(Rng& rng) const;
  // Changes each knob with probability `rate`, and at least one knob always.
  Candidate Mutate(const Candidate& parent, double rate, Rng& rng) const;
  // Uniform crossover: each knob from either parent.
  Candidate Crossover(const Candidate& a, const Candidate& b, Rng& rng) const;

 protected:
  virtual NetworkSpec BuildNetwork(const Candidate& candidate) const = 0;
  // Cheap numeric descriptors for surrogates, beside the raw choices: by default log MACs and
  // log parameters; a space may add what its structure implies.
  virtual std::vector<double> Features(const Candidate& candidate, const NetworkSpec& spec) const;
  // The choices as surrogates see them: by default the candidate's own; a space may fold
  // choices that cannot change the network into one, so that equal networks look equal.
  virtual std::vector<int> LearnedChoices(const Candidate& candidate) const { return candidate.choices; }

  // The choice a mutation gives knob `knob` in place of `current`: by default any other choice,
  // uniformly; a space whose choices have neighbours may take a local step instead.
  virtual int MutatedChoice(size_t knob, int current, Rng& rng) const;

  // Retries a generator until it yields a valid candidate.
  template <typename Generate>
  Candidate FirstValid(Generate generate) const;

 private:
  std::string name_;
  std::vector<Knob> knobs_;
};

// `count` random candidates' networks, no two alike (benches and `hwnas fidelity` score the
// same networks under two settings). Throws UnsupportedError if the space draws fewer.
std::vector<NetworkSpec> DistinctSampledNetworks(const SearchSpace& space, size_t count, Rng& rng);

// Loads a space YAML. Throws IoError / ConfigError with file, line and key.
std::unique_ptr<SearchSpace> LoadSearchSpace(const std::string& path);
std::unique_ptr<SearchSpace> MakeSearchSpace(const ConfigNode& config);

std::unique_ptr<SearchSpace> MakeNb201Space(const ConfigNode& config);
std::unique_ptr<SearchSpace> MakeCategoricalSpace(const ConfigNode& config);
std::unique_ptr<SearchSpace> MakeFbnetSpace(const ConfigNode& config);
std::unique_ptr<SearchSpace> MakeFmnistSpace(const ConfigNode& config);

}  // namespace hwnas
