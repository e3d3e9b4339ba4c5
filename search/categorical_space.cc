// A space of plain categorical knobs, with no network behind it: for synthetic problems,
// benchmarks of the samplers, and tables keyed by the canonical string.
#include "core/errors.h"
#include "search/search_space.h"

namespace hwnas {

namespace {

class CategoricalSpace : public SearchSpace {
 public:
  using SearchSpace::SearchSpace;

  NetworkSpec BuildNetwork(const Candidate&) const override { return {}; }
};

}  // namespace

std::unique_ptr<SearchSpace> MakeCategoricalSpace(const ConfigNode& config) {
  config.ExpectKeys({"kind", "name", "knobs"});
  const ConfigNode knobs_node = config.Child("knobs");
  std::vector<Knob> knobs;
  for (const auto& item : knobs_node.Items()) {
    item.ExpectKeys({"name", "choices"});
    Knob knob{item.String("name"), item.StringList("choices")};
    if (knob.choices.empty()) item.Child("choices").Fail("a knob needs at least one choice");
    for (const auto& choice : knob.choices) {
      if (choice.find_first_of(";=") != std::string::npos) {
        item.Child("choices").Fail("choice '" + choice + "' may not contain ';' or '='");
      }
    }
    knobs.push_back(std::move(knob));
  }
  if (knobs.empty()) knobs_node.Fail("the space needs at least one knob");
  return std::make_unique<CategoricalSpace>(config.String("name", "categorical"), std::move(knobs));
}

}  // namespace hwnas
