// The accuracy side of a candidate. An Evaluator turns a NetworkSpec into an EvalResult; it
// never throws from Evaluate: a failure is a result with status FAIL and its error text, which
// the run stores like any other result.
//
// Kinds (the YAML `kind:` key): `tabular` reads accuracies from a benchmark table; `predictor`
// predicts them with a model saved by `hwnas predictor fit`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_node.h"
#include "core/network_spec.h"

namespace hwnas {

enum class EvalStatus { kOk, kFail };

std::string_view EvalStatusName(EvalStatus status);

struct EvalResult {
  EvalStatus status = EvalStatus::kFail;
  double accuracy = 0.0;                  // percent, valid when status is kOk
  std::map<std::string, double> metrics;  // everything else the evaluator measured
  std::string error;
  double seconds = 0.0;

  bool ok() const { return status == EvalStatus::kOk; }
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual std::string_view kind() const = 0;
  // Thread-safe; called concurrently for the candidates of a batch.
  virtual EvalResult Evaluate(const NetworkSpec& spec) const = 0;
};

// Builds the evaluator a config's `evaluator:` mapping describes. An unknown kind is a
// ConfigError that lists the valid ones.
std::unique_ptr<Evaluator> MakeEvaluator(const ConfigNode& config);
std::vector<std::string> EvaluatorKinds();

std::unique_ptr<Evaluator> MakeTabularEvaluator(const ConfigNode& config);
std::unique_ptr<Evaluator> MakePredictorEvaluator(const ConfigNode& config);

}  // namespace hwnas
