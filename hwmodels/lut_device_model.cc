// Per-op look-up tables (HW-NAS-Bench's FBNet tables): a network costs the sum of the measured
// entries of its NetworkSpec::CostEntries(), added in network order from zero as HW-NAS-Bench
// adds them, so its per-architecture figures come out to the last bit. A zero entry is a real
// value (an identity skip a device fuses away); an empty cell is no value, and a FAIL.
//
// A signature not in the table follows the YAML's `missing` policy:
//   error    the network is a FAIL naming the signature.
//   nearest  the entry of the same op type and fields (e.g. every ConvBlock_H_W_Cin_Cout_exp_
//            kernel_stride_group) whose numbers are closest in log space: least sum over fields
//            of (ln a - ln b)^2, ties to the earlier table row. Not interpolated: one measured
//            entry stands in unchanged. The cost is then `predicted` and the breakdown row's
//            bound is "table-nearest".
#include <cctype>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "core/csv_table.h"
#include "core/errors.h"
#include "hwmodels/device_model.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/roofline.h"

namespace hwnas {

namespace {

// A signature's op type and its labelled numbers: "Skip_H8_W8_Cin64_Cout64_stride1" ->
// Skip {H 8, W 8, Cin 64, Cout 64, stride 1}.
struct Shape {
  std::string type;
  std::vector<std::string> labels;
  std::vector<double> log_values;
};

// nullopt for a signature outside the grammar (such an entry is only ever matched exactly).
std::optional<Shape> ParseSignature(std::string_view signature) {
  Shape shape;
  size_t start = 0;
  while (start <= signature.size()) {
    const size_t end = std::min(signature.find('_', start), signature.size());
    const std::string_view token = signature.substr(start, end - start);
    if (start == 0) {
      shape.type = token;
    } else {
      size_t digits = 0;
      while (digits < token.size() && std::isalpha(static_cast<unsigned char>(token[digits]))) {
        ++digits;
      }
      const std::string_view number = token.substr(digits);
      if (digits == 0 || number.empty() ||
          number.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
      }
      const double value = std::stod(std::string(number));
      if (value <= 0) return std::nullopt;
      shape.labels.emplace_back(token.substr(0, digits));
      shape.log_values.push_back(std::log(value));
    }
    start = end + 1;
  }
  if (shape.type.empty()) return std::nullopt;
  return shape;
}

struct Entry {
  std::string key;
  std::optional<Shape> shape;
  std::optional<double> latency_ms;
  std::optional<double> energy_mj;
};

enum class MissingPolicy { kError, kNearest };

class LutDeviceModel : public DeviceModel {
 public:
  LutDeviceModel(const ConfigNode& config, DeviceInfo info) : DeviceModel(std::move(info)) {
    config.ExpectKeys(
        {"name", "description", "kind", "source", "missing", "table", "compression_roofline"});
    if (config.Has("compression_roofline")) {
      scaling_ = ParseDeviceSpec(ConfigNode::LoadFile(config.Path("compression_roofline")));
    }
    source_ = config.Choice("source", {"measured", "predicted"}) == "measured"
                  ? CostSource::kMeasured
                  : CostSource::kPredicted;
    missing_ = config.Choice("missing", {"error", "nearest"}) == "nearest" ? MissingPolicy::kNearest
                                                                           : MissingPolicy::kError;
    const ConfigNode table_config = config.Child("table");
    table_config.ExpectKeys({"file", "key_column", "latency_column", "energy_column"});
    const CsvTable table = CsvTable::Load(table_config, "file");
    // A column the table lacks is an error at the YAML key that names it.
    auto column = [&](std::string_view key) {
      try {
        return table.Column(table_config.String(key));
      } catch (const IoError& e) {
        table_config.Child(key).Fail(e.what());
      }
    };
    const size_t key = column("key_column");
    const size_t latency = column("latency_column");
    std::optional<size_t> energy;
    if (table_config.Has("energy_column")) energy = column("energy_column");
    provides_energy_ = energy.has_value();
    entries_.reserve(table.rows());
    for (size_t row = 0; row < table.rows(); ++row) {
      const std::string& signature = table.Cell(row, key);
      if (!index_.emplace(signature, entries_.size()).second) {
        table_config.Child("key_column")
            .Fail("'" + signature + "' appears twice in " + table.path());
      }
      entries_.push_back({signature, ParseSignature(signature), table.Number(row, latency),
                          energy ? table.Number(row, *energy) : std::nullopt});
    }
  }

  DeviceCost CostOf(const NetworkSpec& spec, const CostOptions& options) const override {
    DeviceCost cost;
    cost.source = source_;
    if (options.batch != 1 || options.mode != ExecutionMode::kGraph ||
        options.float_format != FloatFormat::kFp32) {
      return Fail(cost, "the look-up table holds batch-1 fp32 measurements only");
    }
    if (spec.layers.empty() && spec.groups.empty()) return Fail(cost, "the network has no layers");
    double latency_ms = 0.0;
    double energy_mj = 0.0;
    for (const LayerGroup& group : spec.CostEntries()) {
      // The table measured uncompressed ops: a compressed entry is scaled by what the
      // device's roofline says its compression changes.
      double scale = 1.0;
      bool scaled = false;
      for (int i = group.first_layer; i < group.first_layer + group.layer_count; ++i) {
        if (spec.layers[i].policy == LayerPolicy{}) continue;
        if (!scaling_) {
          return Fail(cost, "layer " + std::to_string(i) + " of '" + group.signature +
                                "' has a compression policy; the look-up table holds "
                                "uncompressed fp32 ops only (give compression_roofline to scale)");
        }
        const auto ratio = CompressionScale(spec, group, options);
        if (!ratio) return Fail(cost, "cannot scale '" + group.signature + "' for its compression");
        scale = *ratio;
        scaled = true;
        cost.source = CostSource::kPredicted;
        break;
      }
      const auto [entry, approximate] = Find(group.signature);
      if (!entry) {
        return Fail(cost, missing_ == MissingPolicy::kError
                              ? "no table entry for '" + group.signature + "' (missing: error)"
                              : "no table entry for '" + group.signature +
                                    "' nor any of the same op type and fields to stand in");
      }
      if (!entry->latency_ms) return Fail(cost, "no latency for '" + entry->key + "' in the table");
      if (provides_energy_ && !entry->energy_mj) {
        return Fail(cost, "no energy for '" + entry->key + "' in the table");
      }
      latency_ms += scale * *entry->latency_ms;
      if (provides_energy_) energy_mj += scale * *entry->energy_mj;
      if (approximate) cost.source = CostSource::kPredicted;
      if (options.breakdown) {
        LayerCost row;
        row.first_layer = group.first_layer;
        row.layer_count = group.layer_count;
        row.op = group.signature;
        row.precision = "fp32";
        for (int i = group.first_layer; i < group.first_layer + group.layer_count; ++i) {
          row.macs += static_cast<double>(spec.layers[i].Macs());
        }
        row.latency_ms = scale * *entry->latency_ms;
        if (provides_energy_) row.energy_mj = scale * *entry->energy_mj;
        row.bound = approximate ? "table-nearest" : "table";
        if (scaled) row.bound += "-scaled";
        cost.layers.push_back(std::move(row));
      }
    }
    cost.ok = true;
    cost.latency_ms = latency_ms;
    if (provides_energy_) cost.energy_mj = energy_mj;
    return cost;
  }

 private:
  // Roofline latency of the group's layers as compressed over the same layers uncompressed.
  std::optional<double> CompressionScale(const NetworkSpec& spec, const LayerGroup& group,
                                         const CostOptions& options) const {
    NetworkSpec compressed;
    compressed.layers.assign(spec.layers.begin() + group.first_layer,
                             spec.layers.begin() + group.first_layer + group.layer_count);
    NetworkSpec dense = compressed;
    for (auto& layer : dense.layers) layer.policy = LayerPolicy{};
    const DeviceCost with = RooflineCost(*scaling_, name(), compressed, options);
    const DeviceCost without = RooflineCost(*scaling_, name(), dense, options);
    if (!with.ok || !without.ok || !(without.latency_ms > 0)) return std::nullopt;
    return with.latency_ms / without.latency_ms;
  }

  struct Match {
    const Entry* entry = nullptr;
    bool approximate = false;
  };

  DeviceCost Fail(DeviceCost& cost, const std::string& why) const {
    cost.error = name() + ": " + why;
    cost.layers.clear();
    return cost;
  }

  Match Find(const std::string& signature) const {
    if (const auto it = index_.find(signature); it != index_.end()) {
      return {&entries_[it->second], false};
    }
    if (missing_ == MissingPolicy::kError) return {};
    const std::optional<Shape> shape = ParseSignature(signature);
    if (!shape) return {};
    Match best;
    double best_distance = std::numeric_limits<double>::infinity();
    for (const Entry& entry : entries_) {
      if (!entry.shape || entry.shape->type != shape->type ||
          entry.shape->labels != shape->labels) {
        continue;
      }
      double distance = 0.0;
      for (size_t f = 0; f < shape->log_values.size(); ++f) {
        const double d = entry.shape->log_values[f] - shape->log_values[f];
        distance += d * d;
      }
      if (distance < best_distance) {
        best_distance = distance;
        best = {&entry, true};
      }
    }
    return best;
  }

  CostSource source_ = CostSource::kMeasured;
  MissingPolicy missing_ = MissingPolicy::kError;
  bool provides_energy_ = false;
  std::optional<DeviceSpec> scaling_;  // compression_roofline, when given
  std::vector<Entry> entries_;                     // in table order
  std::unordered_map<std::string, size_t> index_;  // signature -> entries_ index
};

}  // namespace

std::unique_ptr<DeviceModel> MakeLutDeviceModel(const ConfigNode& config, DeviceInfo info) {
  info.kind = "lut";
  info.provides_energy = config.Child("table").Has("energy_column");
  return std::make_unique<LutDeviceModel>(config, std::move(info));
}

}  // namespace hwnas
