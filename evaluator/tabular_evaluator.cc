// Accuracy looked up in a benchmark table such as NAS-Bench-201's, keyed by the candidate's
// canonical string.
#include <chrono>
#include <unordered_map>

#include "core/csv_table.h"
#include "evaluator/evaluator.h"

namespace hwnas {

namespace {

// Data set name in config -> accuracy column of the NAS-Bench-201 table.
const std::vector<std::pair<std::string, std::string>> kDatasetColumns = {
    {"cifar10", "cifar10_test_acc"},
    {"cifar100", "cifar100_test_acc"},
    {"imagenet16_120", "imagenet16_120_test_acc"},
};

class TabularEvaluator : public Evaluator {
 public:
  explicit TabularEvaluator(const ConfigNode& config) {
    config.ExpectKeys({"kind", "file", "dataset", "key_column"});
    std::vector<std::string> datasets;
    for (const auto& [name, column] : kDatasetColumns) datasets.push_back(name);
    const std::string dataset = config.Choice("dataset", datasets);
    std::string column_name;
    for (const auto& [name, column] : kDatasetColumns) {
      if (name == dataset) column_name = column;
    }
    const CsvTable table = CsvTable::Load(config, "file");
    const size_t key = table.Column(config.String("key_column", "arch_str"));
    const size_t column = table.Column(column_name);
    accuracy_.reserve(table.rows());
    for (size_t row = 0; row < table.rows(); ++row) {
      const auto value = table.Number(row, column);
      if (value) accuracy_.emplace(table.Cell(row, key), *value);
    }
  }

  std::string_view kind() const override { return "tabular"; }

  EvalResult Evaluate(const NetworkSpec& spec) const override {
    const auto start = std::chrono::steady_clock::now();
    EvalResult result;
    const auto it = accuracy_.find(spec.key);
    if (it == accuracy_.end()) {
      result.error = "no accuracy in the table for " + spec.key;
    } else {
      result.status = EvalStatus::kOk;
      result.accuracy = it->second;
      result.metrics["params"] = static_cast<double>(spec.Params());
      result.metrics["macs"] = static_cast<double>(spec.Macs());
    }
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

 private:
  std::unordered_map<std::string, double> accuracy_;
};

}  // namespace

std::unique_ptr<Evaluator> MakeTabularEvaluator(const ConfigNode& config, const EvaluatorContext&) {
  return std::make_unique<TabularEvaluator>(config);
}

}  // namespace hwnas
