#include "evaluator/evaluator.h"

#include "core/kind_registry.h"

namespace hwnas {

namespace {

const KindRegistry<Evaluator>& Registry() {
  static const KindRegistry<Evaluator> registry = {
      {"tabular", MakeTabularEvaluator},
      {"predictor", MakePredictorEvaluator},
  };
  return registry;
}

}  // namespace

std::string_view EvalStatusName(EvalStatus status) {
  return status == EvalStatus::kOk ? "OK" : "FAIL";
}

std::vector<std::string> EvaluatorKinds() { return Registry().Names(); }

std::unique_ptr<Evaluator> MakeEvaluator(const ConfigNode& config) {
  return Registry().Make(config);
}

}  // namespace hwnas
