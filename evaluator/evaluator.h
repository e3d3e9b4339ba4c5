// The accuracy side of a candidate. An Evaluator turns a NetworkSpec into an EvalResult; it
// never throws from Evaluate: a failure is a result with status FAIL and its error text, which
// the run stores like any other result.
//
// Kinds (the YAML `kind:` key): `tabular` reads accuracies from a benchmark table; `predictor`
// predicts them with a model saved by `hwnas predictor fit`; `distill` fine-tunes the candidate
// from weights it inherits from a supernet (evaluator/distill_evaluator.cc).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_node.h"
#include "core/network_spec.h"
#include "core/rng.h"

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
  // Which front member a final evaluation is for: any, or the most accurate of a device's
  // front, which the users' choice usually is and so may get a longer schedule.
  enum class FinalRole { kMember, kMostAccurate };
  // The training steps of a front member's final evaluation at the end of a run; 0 for
  // evaluators whose Evaluate already is the final word (benchmark tables): they have none.
  virtual int64_t FinalSteps(FinalRole /*role*/) const { return 0; }
  // That final evaluation: trained longer and scored on the test set. Only called where
  // FinalSteps is above 0.
  virtual EvalResult FinalEvaluate(const NetworkSpec& spec, FinalRole role) const;
  // The network a run's front is judged against, for evaluators that train one (distill's
  // teacher): its layers as it runs (dense, float) and its test accuracy in percent.
  struct Teacher {
    NetworkSpec network;
    double test_accuracy = 0.0;
  };
  virtual std::optional<Teacher> teacher() const { return std::nullopt; }
};

// The architectures of the run's search space, as evaluators that train see them.
struct SpaceNetworks {
  NetworkSpec largest;   // every knob at its largest: the teacher, and the supernet's shape
  NetworkSpec smallest;
  std::function<NetworkSpec(Rng&)> sample;  // a random candidate
  std::string key;  // identifies the space's architectures (SearchSpace::ArchitectureKey), for caches
};

// Long preparation work (a teacher's training) reports steps done of a total, by stage.
using PreparationProgress =
    std::function<void(std::string_view stage, int64_t done, int64_t total)>;

struct EvaluatorContext {
  SpaceNetworks space;  // empty when the space cannot build networks
  PreparationProgress progress;
};

// Builds the evaluator a config's `evaluator:` mapping describes. An unknown kind is a
// ConfigError that lists the valid ones.
std::unique_ptr<Evaluator> MakeEvaluator(const ConfigNode& config,
                                         const EvaluatorContext& context = {});
std::vector<std::string> EvaluatorKinds();

std::unique_ptr<Evaluator> MakeTabularEvaluator(const ConfigNode& config, const EvaluatorContext& context);
std::unique_ptr<Evaluator> MakePredictorEvaluator(const ConfigNode& config, const EvaluatorContext& context);
std::unique_ptr<Evaluator> MakeDistillEvaluator(const ConfigNode& config, const EvaluatorContext& context);
// The epochs a distill evaluator's teacher trains (its `teacher.epochs`, or the default).
int DistillTeacherEpochs(const ConfigNode& config);

}  // namespace hwnas
