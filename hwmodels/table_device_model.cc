// Per-architecture measurements looked up by the candidate's canonical string (HW-NAS-Bench's
// NAS-Bench-201 tables). A missing value or a sentinel is a FAIL for that device, never a zero.
#include <algorithm>
#include <unordered_map>

#include "core/csv_table.h"
#include "hwmodels/device_model.h"

namespace hwnas {

namespace {

struct Measurement {
  std::optional<double> latency_ms;
  std::optional<double> energy_mj;
};

class TableDeviceModel : public DeviceModel {
 public:
  TableDeviceModel(const ConfigNode& config, DeviceInfo info) : DeviceModel(std::move(info)) {
    config.ExpectKeys({"name", "description", "kind", "source", "table"});
    source_ = config.Choice("source", {"measured", "predicted"}) == "measured"
                  ? CostSource::kMeasured
                  : CostSource::kPredicted;
    const ConfigNode table_config = config.Child("table");
    table_config.ExpectKeys(
        {"file", "key_column", "latency_column", "energy_column", "missing_values"});
    std::vector<double> missing_values;
    if (table_config.Has("missing_values")) {
      for (const auto& item : table_config.Child("missing_values").Items()) {
        missing_values.push_back(item.AsDouble(-1e300, 1e300));
      }
    }
    const CsvTable table = CsvTable::Load(table_config, "file");
    const size_t key = table.Column(table_config.String("key_column"));
    const size_t latency = table.Column(table_config.String("latency_column"));
    std::optional<size_t> energy;
    if (table_config.Has("energy_column")) {
      energy = table.Column(table_config.String("energy_column"));
    }
    auto read = [&](size_t row, size_t column) -> std::optional<double> {
      auto value = table.Number(row, column);
      if (value && std::find(missing_values.begin(), missing_values.end(), *value) !=
                       missing_values.end()) {
        return std::nullopt;
      }
      return value;
    };
    rows_.reserve(table.rows());
    for (size_t row = 0; row < table.rows(); ++row) {
      Measurement m{read(row, latency), energy ? read(row, *energy) : std::nullopt};
      rows_.emplace(table.Cell(row, key), m);
    }
    provides_energy_ = energy.has_value();
  }

  DeviceCost CostOf(const NetworkSpec& spec, const CostOptions& options) const override {
    DeviceCost cost;
    cost.source = source_;
    if (options.batch != 1 || options.mode != ExecutionMode::kGraph ||
        options.float_format != FloatFormat::kFp32) {
      cost.error = name() + ": the table holds batch-1 fp32 measurements only";
      return cost;
    }
    if (!spec.IsUncompressed()) {
      cost.error = name() + ": the table holds uncompressed networks only";
      return cost;
    }
    const auto it = rows_.find(spec.key);
    if (it == rows_.end()) {
      cost.error = name() + ": architecture not in the measurement table";
    } else if (!it->second.latency_ms) {
      cost.error = name() + ": no valid latency measured for this architecture";
    } else if (provides_energy_ && !it->second.energy_mj) {
      cost.error = name() + ": no valid energy measured for this architecture";
    } else {
      cost.ok = true;
      cost.latency_ms = *it->second.latency_ms;
      cost.energy_mj = it->second.energy_mj;
    }
    return cost;
  }

 private:
  CostSource source_ = CostSource::kMeasured;
  bool provides_energy_ = false;
  std::unordered_map<std::string, Measurement> rows_;
};

}  // namespace

std::unique_ptr<DeviceModel> MakeTableDeviceModel(const ConfigNode& config, DeviceInfo info) {
  info.kind = "table";
  info.provides_energy = config.Child("table").Has("energy_column");
  return std::make_unique<TableDeviceModel>(config, std::move(info));
}

}  // namespace hwnas
