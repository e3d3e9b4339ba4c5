#include "hwmodels/device_spec.h"

#include <algorithm>
#include <cstring>
#include <regex>
#include <sstream>

#include "core/errors.h"

namespace hwnas {

namespace {

constexpr const char* kBatch1Regime = "@b1";
const std::regex kPrecisionKey("fp32|tf32|fp16|bf16|fp8|int([1-9]|1[0-6])|w([1-9]|1[0-6])a([1-9]|[1-3][0-9])");

std::map<std::string, double> PrecisionMap(const ConfigNode& node, double lo, double hi) {
  std::map<std::string, double> values;
  for (const auto& key : node.Keys()) {
    if (!std::regex_match(key, kPrecisionKey)) {
      node.Child(key).Fail("unknown precision '" + key +
                           "'; valid: fp32, tf32, fp16, bf16, fp8, int<bits>, w<bits>a<bits>");
    }
    values[key] = node.Double(key, lo, hi);
  }
  return values;
}

Efficiency ReadEfficiency(const ConfigNode& node) {
  node.ExpectKeys({"compute", "bandwidth", "overhead_us", "half_mmacs", "half_kbytes", "group_us"});
  Efficiency e;
  e.compute = node.Double("compute", 1e-6, 10.0, 1.0);
  e.bandwidth = node.Double("bandwidth", 1e-6, 10.0, 1.0);
  if (node.Has("overhead_us")) e.overhead_us = node.Double("overhead_us", 0.0, 1e6);
  e.half_mmacs = node.Double("half_mmacs", 0.0, 1e9, 0.0);
  e.half_kbytes = node.Double("half_kbytes", 0.0, 1e9, 0.0);
  e.group_us = node.Double("group_us", 0.0, 1e6, 0.0);
  return e;
}

std::string Number(double v) {
  std::ostringstream out;
  out.precision(8);
  out << v;
  return out.str();
}

}  // namespace

const std::vector<std::string>& EfficiencyOpKinds() {
  static const std::vector<std::string> kinds = {
      "conv", "pointwise", "depthwise", "depthwise_strided", "linear", "pool", "gap", "add", "bn",
      "relu", "convert"};
  return kinds;
}

std::string DeviceSpec::EfficiencyKey(const std::string& kind, const std::string& precision,
                                      int batch) const {
  return kind + "/" + precision + (batch1_kernels && batch == 1 ? kBatch1Regime : "");
}

const Efficiency& DeviceSpec::EfficiencyFor(const std::string& kind, const std::string& precision,
                                            int batch) const {
  static const Efficiency kPeak;
  std::vector<std::string> keys = {EfficiencyKey(kind, precision, batch), kind + "/" + precision,
                                   kind};
  // A device without its own strided depthwise entries runs those at its depthwise ones.
  if (kind == "depthwise_strided") keys.insert(keys.end(), {"depthwise/" + precision, "depthwise"});
  keys.push_back("default");
  for (const std::string& key : keys) {
    const auto it = efficiency.find(key);
    if (it != efficiency.end()) return it->second;
  }
  return kPeak;
}

DeviceSpec ParseDeviceSpec(const ConfigNode& config) {
  DeviceSpec spec;
  const ConfigNode compute = config.Child("compute");
  compute.ExpectKeys({"peak_tops", "unsupported_bits", "weight_only_kernels"});
  spec.peak_tops = PrecisionMap(compute.Child("peak_tops"), 1e-9, 1e6);
  if (spec.peak_tops.empty()) compute.Child("peak_tops").Fail("give at least one precision");
  for (const auto& [key, tops] : spec.peak_tops) {
    if (key.starts_with("int")) spec.native_int_bits.push_back(std::stoi(key.substr(3)));
  }
  std::sort(spec.native_int_bits.begin(), spec.native_int_bits.end());
  spec.unsupported_bits =
      compute.Choice("unsupported_bits", {"next_supported", "dequantize"}, "next_supported") ==
              "dequantize"
          ? UnsupportedBits::kDequantize
          : UnsupportedBits::kNextSupported;
  spec.weight_only_kernels = compute.Bool("weight_only_kernels", true);
  if (!spec.weight_only_kernels && spec.native_int_bits.empty()) {
    compute.Child("weight_only_kernels")
        .Fail("without weight-only kernels a layer runs in the integer ones; give an int<b> "
              "precision in peak_tops");
  }

  const ConfigNode memory = config.Child("memory");
  memory.ExpectKeys({"bandwidth_gbs", "on_chip_mb"});
  spec.bandwidth_gbs = memory.Double("bandwidth_gbs", 1e-6, 1e6);
  spec.on_chip_bytes = memory.Double("on_chip_mb", 0.0, 1e6, 0.0) * 1e6;
  spec.overhead_us = config.Double("overhead_us", 0.0, 1e6, 0.0);
  spec.eager_overhead_us = config.Double("eager_overhead_us", 0.0, 1e6, 0.0);

  if (config.Has("sparse")) {
    const ConfigNode sparse = config.Child("sparse");
    sparse.ExpectKeys({"n_of_m_speedup", "unstructured_density_below", "unstructured_efficiency",
                       "pruned_channels"});
    if (sparse.Has("n_of_m_speedup")) {
      const ConfigNode patterns = sparse.Child("n_of_m_speedup");
      for (const auto& key : patterns.Keys()) {
        if (key != "2:4" && key != "1:4") {
          patterns.Child(key).Fail("unknown pattern '" + key + "'; valid: 2:4, 1:4");
        }
        spec.n_of_m_speedup[key] = patterns.Double(key, 1.0, 16.0);
      }
    }
    spec.unstructured_density_below = sparse.Double("unstructured_density_below", 0.0, 1.0, 0.0);
    spec.unstructured_efficiency = sparse.Double("unstructured_efficiency", 1e-3, 1.0, 1.0);
    spec.skips_pruned_channels =
        sparse.Choice("pruned_channels", {"skipped", "computed"}, "skipped") == "skipped";
  }

  if (config.Has("energy")) {
    const ConfigNode energy = config.Child("energy");
    energy.ExpectKeys({"pj_per_mac", "pj_per_byte", "static_w"});
    spec.pj_per_mac = PrecisionMap(energy.Child("pj_per_mac"), 0.0, 1e6);
    for (const auto& [key, tops] : spec.peak_tops) {
      if (!spec.pj_per_mac.count(key)) {
        energy.Child("pj_per_mac").Fail("no energy for precision '" + key + "', which compute lists");
      }
    }
    spec.pj_per_byte = energy.Double("pj_per_byte", 0.0, 1e6);
    spec.static_w = energy.Double("static_w", 0.0, 1e4, 0.0);
    spec.has_energy = true;
  }

  if (config.Has("fuses")) {
    const std::vector<std::string> ops = {"conv", "linear", "bn", "relu", "add", "pool"};
    for (const auto& item : config.Child("fuses").Items()) {
      const std::string text = item.AsString();
      DeviceSpec::Fusion fusion;
      const size_t at = text.find('@');
      if (at != std::string::npos) {
        fusion.precision = text.substr(at + 1);
        if (!spec.peak_tops.count(fusion.precision)) {
          item.Fail("fusion '" + text + "': precision '" + fusion.precision +
                    "' is not in compute.peak_tops");
        }
      }
      std::stringstream joined(text.substr(0, at));
      for (std::string op; std::getline(joined, op, '+');) {
        if (std::find(ops.begin(), ops.end(), op) == ops.end()) {
          item.Fail("unknown op '" + op + "' in fusion '" + text + "'; valid ops: " +
                    JoinNames(ops));
        }
        fusion.ops.push_back(op);
      }
      if (fusion.ops.size() < 2) item.Fail("a fusion joins two or more ops with '+'");
      spec.fusions.push_back(fusion);
    }
    std::stable_sort(spec.fusions.begin(), spec.fusions.end(),
                     [](const auto& a, const auto& b) { return a.ops.size() > b.ops.size(); });
  }

  spec.prunes_unused_ops = config.Bool("prunes_unused_ops", false);
  spec.batch1_kernels = config.Bool("batch1_kernels", false);
  spec.converts_through_float = config.Bool("converts_through_float", false);
  spec.integer_adds = config.Bool("integer_adds", false);

  if (config.Has("efficiency")) {
    const ConfigNode efficiency = config.Child("efficiency");
    for (const auto& full_key : efficiency.Keys()) {
      std::string key = full_key;
      if (key.ends_with(kBatch1Regime)) {
        key.resize(key.size() - std::strlen(kBatch1Regime));
        if (key.find('/') == std::string::npos) {
          efficiency.Child(full_key).Fail("'" + full_key + "': @b1 follows a kind/precision key");
        }
        if (!spec.batch1_kernels) {
          efficiency.Child(full_key).Fail(
              "'" + full_key + "' is a batch-1 efficiency; it needs batch1_kernels: true");
        }
      }
      const std::string kind = key.substr(0, key.find('/'));
      const auto& kinds = EfficiencyOpKinds();
      if (key != "default" && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        efficiency.Child(full_key).Fail("unknown op kind '" + kind + "'; valid: default, " +
                                        JoinNames(kinds) +
                                        " (optionally /precision, /precision@b1)");
      }
      if (key.find('/') != std::string::npos &&
          !std::regex_match(key.substr(key.find('/') + 1), kPrecisionKey)) {
        efficiency.Child(full_key).Fail("unknown precision in '" + full_key + "'");
      }
      spec.efficiency[full_key] = ReadEfficiency(efficiency.Child(full_key));
    }
  }
  return spec;
}

std::string DeviceSpecYaml(const DeviceSpec& spec) {
  std::ostringstream out;
  auto precision_map = [&](const std::map<std::string, double>& values) {
    std::string text = "{";
    for (const auto& [key, value] : values) {
      text += (text.size() > 1 ? ", " : "") + key + ": " + Number(value);
    }
    return text + "}";
  };
  out << "compute:\n  peak_tops: " << precision_map(spec.peak_tops) << "\n  unsupported_bits: "
      << (spec.unsupported_bits == UnsupportedBits::kDequantize ? "dequantize" : "next_supported")
      << (spec.weight_only_kernels ? "" : "\n  weight_only_kernels: false")
      << "\nmemory:\n  bandwidth_gbs: " << Number(spec.bandwidth_gbs)
      << "\n  on_chip_mb: " << Number(spec.on_chip_bytes / 1e6)
      << "\noverhead_us: " << Number(spec.overhead_us)
      << "\neager_overhead_us: " << Number(spec.eager_overhead_us) << "\n";
  if (!spec.n_of_m_speedup.empty() || spec.unstructured_density_below > 0 ||
      !spec.skips_pruned_channels) {
    out << "sparse:\n";
    if (!spec.skips_pruned_channels) out << "  pruned_channels: computed\n";
    if (!spec.n_of_m_speedup.empty()) {
      out << "  n_of_m_speedup: {";
      bool first = true;
      for (const auto& [key, value] : spec.n_of_m_speedup) {
        out << (first ? "" : ", ") << "\"" << key << "\": " << Number(value);
        first = false;
      }
      out << "}\n";
    }
    out << "  unstructured_density_below: " << Number(spec.unstructured_density_below)
        << "\n  unstructured_efficiency: " << Number(spec.unstructured_efficiency) << "\n";
  }
  if (spec.has_energy) {
    out << "energy:\n  pj_per_mac: " << precision_map(spec.pj_per_mac)
        << "\n  pj_per_byte: " << Number(spec.pj_per_byte)
        << "\n  static_w: " << Number(spec.static_w) << "\n";
  }
  if (!spec.fusions.empty()) {
    out << "fuses: [";
    for (size_t i = 0; i < spec.fusions.size(); ++i) {
      std::string joined;
      for (const auto& op : spec.fusions[i].ops) joined += (joined.empty() ? "" : "+") + op;
      if (!spec.fusions[i].precision.empty()) joined += "@" + spec.fusions[i].precision;
      out << (i ? ", " : "") << joined;
    }
    out << "]\n";
  }
  if (spec.prunes_unused_ops) out << "prunes_unused_ops: true\n";
  if (spec.batch1_kernels) out << "batch1_kernels: true\n";
  if (spec.converts_through_float) out << "converts_through_float: true\n";
  if (spec.integer_adds) out << "integer_adds: true\n";
  if (!spec.efficiency.empty()) {
    out << "efficiency:\n";
    for (const auto& [key, e] : spec.efficiency) {
      out << "  " << key << ": {compute: " << Number(e.compute)
          << ", bandwidth: " << Number(e.bandwidth);
      if (e.overhead_us) out << ", overhead_us: " << Number(*e.overhead_us);
      if (e.half_mmacs > 0) out << ", half_mmacs: " << Number(e.half_mmacs);
      if (e.half_kbytes > 0) out << ", half_kbytes: " << Number(e.half_kbytes);
      if (e.group_us > 0) out << ", group_us: " << Number(e.group_us);
      out << "}\n";
    }
  }
  return out.str();
}

}  // namespace hwnas
