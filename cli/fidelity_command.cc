// `hwnas fidelity`: how well a run's proxy ranks candidates. N random candidates of the run's
// space are scored twice: by the run's evaluator (the proxy), and by the same evaluator training
// from scratch (`init: scratch`), the reference: full training, as many epochs as the teacher's,
// or `--scale` times the proxy's steps. Prints both per candidate, Kendall's tau and Spearman's
// rho between them, and the proxy's cost as a share of the reference's.
#include <tbb/parallel_for.h>

#include <iostream>
#include <optional>

#include "cli/command.h"
#include "cli/progress_printer.h"
#include "cli/table_output.h"
#include "core/errors.h"
#include "core/rank_correlation.h"
#include "core/rng.h"
#include "search/run.h"

namespace hwnas {

namespace {

// The run's evaluator mapping with the reference's changes: from scratch, and either `scale`
// times the proxy's steps or, without one, full training: as many epochs as the teacher's.
ConfigNode ReferenceEvaluator(const RunConfig& config, std::optional<int64_t> scale) {
  const ConfigNode proxy = config.Evaluator();
  if (proxy.String("kind") != "distill") {
    proxy.Fail("hwnas fidelity needs an evaluator of kind distill (a proxy that trains)");
  }
  YAML::Node node = YAML::Clone(proxy.yaml());
  node["init"] = "scratch";
  if (scale) {
    const int64_t steps =
        proxy.Has("proxy") ? proxy.Child("proxy").Int("steps", 1, 10000000, 100) : 100;
    node["proxy"]["steps"] = steps * *scale;
  } else {
    node["proxy"].remove("steps");
    node["proxy"]["epochs"] = DistillTeacherEpochs(proxy);
  }
  YAML::Node root;
  root["evaluator"] = node;
  return ConfigNode::LoadString(YAML::Dump(root), config.origin).Child("evaluator");
}

int Fidelity(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const RunConfig config = LoadRunConfig(args.Require("config"));
  const int64_t samples = args.Int("samples", 3, 100000).value_or(30);
  const std::optional<int64_t> scale = args.Int("scale", 1, 1000);
  const uint64_t seed = static_cast<uint64_t>(args.Int("seed", 0, INT64_MAX).value_or(0));
  const auto space = LoadSearchSpace(config.space_path);
  ProgressPrinter printer(stderr);
  const EvaluatorContext context = MakeEvaluatorContext(
      *space,
      [&](std::string_view stage, int64_t done, int64_t total) { printer.Stage(stage, done, total); });
  const auto proxy = MakeEvaluator(config.Evaluator(), context);
  const auto reference = MakeEvaluator(ReferenceEvaluator(config, scale), context);

  Rng rng(seed);
  const std::vector<NetworkSpec> specs = DistinctSampledNetworks(*space, static_cast<size_t>(samples), rng);
  std::vector<EvalResult> proxies(specs.size()), references(specs.size());
  int64_t done = 0;
  printer.Stage("fidelity", 0, samples);
  // Two candidates at a time, as a run's batches do; each training uses every thread anyway.
  for (size_t first = 0; first < specs.size(); first += 2) {
    const size_t end = std::min(specs.size(), first + 2);
    tbb::parallel_for(first, end, [&](size_t i) {
      proxies[i] = proxy->Evaluate(specs[i]);
      references[i] = reference->Evaluate(specs[i]);
    });
    for (size_t i = first; i < end; ++i) {
      if (!proxies[i].ok() || !references[i].ok()) {
        printer.Note("candidate " + std::to_string(i) + " failed: " + proxies[i].error +
                     references[i].error);
        continue;
      }
      printer.Note("candidate " + std::to_string(i) + ": proxy " +
                   FormatNumber(proxies[i].accuracy) + " in " +
                   FormatNumber(proxies[i].seconds, 3) + " s, reference " +
                   FormatNumber(references[i].accuracy) + " in " +
                   FormatNumber(references[i].seconds, 3) + " s");
    }
    done = static_cast<int64_t>(end);
    printer.Stage("fidelity", done, samples);
  }

  TableOutput table({{"candidate", true}, {"proxy_accuracy", true}, {"reference_accuracy", true},
                     {"proxy_s", true}, {"reference_s", true}});
  std::vector<double> a, b;
  double proxy_seconds = 0, reference_seconds = 0, steps_ratio = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!proxies[i].ok() || !references[i].ok()) continue;  // reported as it happened
    steps_ratio = references[i].metrics.at("steps") / proxies[i].metrics.at("steps");
    a.push_back(proxies[i].accuracy);
    b.push_back(references[i].accuracy);
    proxy_seconds += proxies[i].seconds;
    reference_seconds += references[i].seconds;
    table.AddRow({std::to_string(i), FormatNumber(a.back()), FormatNumber(b.back()),
                  FormatNumber(proxies[i].seconds, 3), FormatNumber(references[i].seconds, 3)});
  }
  if (a.size() < 3) throw UnsupportedError("hwnas fidelity: fewer than 3 candidates scored");
  table.Print(std::cout, format);
  TableOutput summary({{"candidates", true}, {"kendall_tau", true}, {"spearman_rho", true},
                       {"reference_steps_x", true}, {"proxy_cost_share", true}});
  summary.AddRow({std::to_string(a.size()), FormatNumber(KendallTau(a, b), 4),
                  FormatNumber(SpearmanRho(a, b), 4), FormatNumber(steps_ratio, 4),
                  FormatNumber(proxy_seconds / reference_seconds, 4)});
  std::cout << "\n";
  summary.Print(std::cout, format);
  return 0;
}

}  // namespace

Command FidelityCommand() {
  return {"fidelity",
          "rank agreement of a run's proxy with longer training from scratch, on random candidates",
          {{"config", "FILE", "a run YAML whose evaluator is of kind distill (required)"},
           {"samples", "N", "random candidates scored (default 30)"},
           {"scale", "K", "the reference trains K times the proxy's steps (default: full "
                          "training, as many epochs as the teacher)"},
           {"seed", "N", "which candidates (default 0)"},
           kFormatFlag},
          Fidelity};
}

}  // namespace hwnas
