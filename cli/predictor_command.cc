// `hwnas predictor fit` and `hwnas predictor eval`: an accuracy predictor trained on a run's
// stored evaluations, judged by rank correlation on candidates it was not fitted on.
#include <iostream>

#include "cli/command.h"
#include "cli/run_selection.h"
#include "cli/table_output.h"
#include "core/errors.h"
#include "core/rank_correlation.h"
#include "core/rng.h"
#include "evaluator/accuracy_predictor.h"
#include "search/search_space.h"
#include "store/store.h"

namespace hwnas {

namespace {

struct Sample {
  GpInput input;
  double accuracy;
};

// The successful evaluations of a run (the newest when --run is absent), as predictor inputs.
std::vector<Sample> RunSamples(const Args& args, std::string* space_name) {
  const Store store(args.Require("db"), Store::Mode::kMustExist);
  const RunRecord run = SelectedRun(args, store);
  const auto space = RunSpace(run);
  if (space_name) *space_name = space->name();
  std::vector<Sample> samples;
  for (const auto& record : store.RunEvaluations(run.id)) {
    if (record.status != "OK") continue;
    const NetworkSpec spec = space->Expand(space->Parse(record.canonical));
    samples.push_back({{spec.choices, spec.features}, record.accuracy});
  }
  return samples;
}

void PrintAgreement(const AccuracyPredictor& predictor, const std::vector<Sample>& samples,
                    const std::string& label, const std::string& format) {
  std::vector<double> predicted, measured;
  double abs_error = 0;
  for (const auto& s : samples) {
    predicted.push_back(predictor.PredictAccuracy(s.input));
    measured.push_back(s.accuracy);
    abs_error += std::abs(predicted.back() - s.accuracy) / samples.size();
  }
  TableOutput table({{"set", false}, {"candidates", true}, {"kendall_tau", true},
                     {"spearman_rho", true}, {"mae_accuracy", true}});
  table.AddRow({label, std::to_string(samples.size()), FormatNumber(KendallTau(predicted, measured), 4),
                FormatNumber(SpearmanRho(predicted, measured), 4), FormatNumber(abs_error, 4)});
  table.Print(std::cout, format);
}

int Fit(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const std::string out = args.Require("out");
  const double holdout = args.Double("holdout").value_or(0.2);
  if (holdout < 0 || holdout >= 1) throw ConfigError("hwnas predictor fit: --holdout: give a share in [0, 1)");
  std::string space;
  auto samples = RunSamples(args, &space);
  // A seeded shuffle decides the held-out candidates.
  Rng rng(static_cast<uint64_t>(args.Int("seed", 0, INT64_MAX).value_or(0)));
  for (size_t i = samples.size(); i > 1; --i) std::swap(samples[i - 1], samples[rng.Below(i)]);
  const size_t held = static_cast<size_t>(holdout * samples.size());
  const std::vector<Sample> test(samples.begin(), samples.begin() + held);
  const std::vector<Sample> train(samples.begin() + held, samples.end());
  if (train.size() < 2) {
    throw ConfigError(args.Require("db") + ": hwnas predictor fit: " + std::to_string(train.size()) +
                      " successful evaluation(s) left to fit on after holding out " +
                      std::to_string(test.size()) + "; at least 2 are needed");
  }
  std::vector<GpInput> inputs;
  std::vector<double> accuracies;
  for (const auto& s : train) {
    inputs.push_back(s.input);
    accuracies.push_back(s.accuracy);
  }
  AccuracyPredictor predictor;
  predictor.Fit(inputs, accuracies);
  predictor.Save(out, space);
  if (!test.empty()) PrintAgreement(predictor, test, "held out", format);
  std::cerr << "fitted on " << train.size() << " candidates of space " << space << "; saved to "
            << out << "\n";
  return 0;
}

int Eval(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  std::string model_space, run_space;
  const auto predictor = AccuracyPredictor::Load(args.Require("model"), &model_space);
  const auto samples = RunSamples(args, &run_space);
  if (model_space != run_space) {
    throw ConfigError(args.Require("model") + ": fitted on space '" + model_space +
                      "', the run searched '" + run_space + "'");
  }
  if (samples.size() < 2) {
    throw ConfigError(args.Require("db") + ": hwnas predictor eval: the run has " +
                      std::to_string(samples.size()) +
                      " successful evaluation(s); at least 2 are needed to rank");
  }
  PrintAgreement(predictor, samples, "run", format);
  return 0;
}

}  // namespace

Command PredictorFitCommand() {
  return {"predictor fit",
          "fit an accuracy predictor on a run's evaluations; report rank correlation on held-out ones",
          {{"db", "FILE", "results database (required)"},
           {"run", "ID", "run id (default: the newest run)"},
           {"out", "FILE", "model file to write (required)"},
           {"holdout", "P", "share of candidates held out for the report (default 0.2)"},
           {"seed", "N", "seed of the held-out draw (default 0)"},
           kFormatFlag},
          Fit};
}

Command PredictorEvalCommand() {
  return {"predictor eval",
          "rank correlation of a saved predictor against a run's measured accuracies",
          {{"model", "FILE", "model file from predictor fit (required)"},
           {"db", "FILE", "results database (required)"},
           {"run", "ID", "run id (default: the newest run)"},
           kFormatFlag},
          Eval};
}

}  // namespace hwnas
