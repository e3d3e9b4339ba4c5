// Accuracy predicted by a saved AccuracyPredictor (`hwnas predictor fit`): instant, and marked
// as a prediction in its metrics so no one mistakes it for a trained result.
#include <chrono>

#include "core/errors.h"

#include "evaluator/accuracy_predictor.h"
#include "evaluator/evaluator.h"

namespace hwnas {

namespace {

class PredictorEvaluator : public Evaluator {
 public:
  explicit PredictorEvaluator(const ConfigNode& config) {
    config.ExpectKeys({"kind", "model"});
    try {
      predictor_ = AccuracyPredictor::Load(config.Path("model"), &space_);
    } catch (const IoError& e) {
      config.Child("model").Fail(e.what());
    }
  }

  std::string_view kind() const override { return "predictor"; }

  EvalResult Evaluate(const NetworkSpec& spec) const override {
    const auto start = std::chrono::steady_clock::now();
    EvalResult result;
    if (spec.choices.size() != predictor_.knobs() || spec.features.size() != predictor_.features()) {
      result.error = "the predictor was fitted on space '" + space_ + "' (" +
                     std::to_string(predictor_.knobs()) + " knobs), not on this candidate's";
    } else {
      const GpInput input{spec.choices, spec.features};
      const GpPrediction score = predictor_.PredictScore(input);
      result.status = EvalStatus::kOk;
      result.accuracy = 100.0 - predictor_.warp().Inverse(score.mean);
      result.metrics["predicted"] = 1;
      result.metrics["predicted_score_stddev"] = score.stddev;
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

 private:
  AccuracyPredictor predictor_;
  std::string space_;
};

}  // namespace

std::unique_ptr<Evaluator> MakePredictorEvaluator(const ConfigNode& config, const EvaluatorContext&) {
  return std::make_unique<PredictorEvaluator>(config);
}

}  // namespace hwnas
