#include "evaluator/evaluator.h"

#include "core/kind_registry.h"

namespace hwnas {

namespace {

const KindRegistry<Evaluator, const EvaluatorContext&>& Registry() {
  static const KindRegistry<Evaluator, const EvaluatorContext&> registry = {
      {"tabular", MakeTabularEvaluator},
      {"predictor", MakePredictorEvaluator},
      {"distill", MakeDistillEvaluator},
  };
  return registry;
}

}  // namespace

std::string_view EvalStatusName(EvalStatus status) {
  return status == EvalStatus::kOk ? "OK" : "FAIL";
}

std::vector<std::string> EvaluatorKinds() { return Registry().Names(); }

EvalResult Evaluator::FinalEvaluate(const NetworkSpec& /*spec*/, FinalRole /*role*/) const {
  EvalResult result;
  result.error = "evaluator kind " + std::string(kind()) + " has no final evaluation";
  return result;
}

std::unique_ptr<Evaluator> MakeEvaluator(const ConfigNode& config, const EvaluatorContext& context) {
  return Registry().Make(config, context);
}

}  // namespace hwnas
