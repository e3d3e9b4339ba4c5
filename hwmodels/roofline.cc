#include "hwmodels/roofline.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/errors.h"
#include "hwmodels/device_model.h"
#include "hwmodels/dtype.h"

namespace hwnas {

namespace {

double FloatBytes(FloatFormat format) {
  switch (format) {
    case FloatFormat::kFp16:
    case FloatFormat::kBf16: return 2;
    case FloatFormat::kFp8: return 1;
    default: return 4;
  }
}

int FloatBits(FloatFormat format) { return static_cast<int>(FloatBytes(format) * 8); }

bool IsCompute(const Layer& layer) {
  return layer.op == LayerOp::kConv || layer.op == LayerOp::kLinear;
}

// The name fusion patterns use.
std::string FusionName(LayerOp op) {
  switch (op) {
    case LayerOp::kConv: return "conv";
    case LayerOp::kLinear: return "linear";
    case LayerOp::kBatchNorm: return "bn";
    case LayerOp::kRelu:
    case LayerOp::kRelu6: return "relu";
    case LayerOp::kAdd: return "add";
    case LayerOp::kAvgPool:
    case LayerOp::kMaxPool: return "pool";
    case LayerOp::kGlobalAvgPool: return "gap";
  }
  HWNAS_CHECK(false);
}

// The kind efficiencies are keyed by.
std::string EfficiencyKind(const Layer& layer) {
  if (layer.op == LayerOp::kConv) {
    if (layer.groups > 1 && layer.groups == layer.cin) {
      // Strided depthwise kernels gather their input and run at another efficiency.
      return layer.stride > 1 ? "depthwise_strided" : "depthwise";
    }
    return layer.kernel == 1 ? "pointwise" : "conv";
  }
  return FusionName(layer.op);
}

// What a layer executes at, and how wide its data is in memory.
struct Precision {
  std::string key;    // the peak_tops key
  std::string label;  // for the breakdown: "int8", "int6->int8", "int6->fp32 (dequantized)"
  double weight_bytes = 4;
  double activation_bytes = 4;
  std::string error;
};

FloatFormat LayerFloat(const Layer& layer, const CostOptions& options) {
  return layer.policy.float_format == FloatFormat::kRunDefault ? options.float_format
                                                               : layer.policy.float_format;
}

Precision FloatPrecision(const DeviceSpec& device, FloatFormat format) {
  Precision p;
  p.key = std::string(FloatFormatName(format));
  p.label = p.key;
  p.weight_bytes = p.activation_bytes = FloatBytes(format);
  if (!device.peak_tops.count(p.key)) {
    std::string valid;
    for (const auto& [key, tops] : device.peak_tops) valid += (valid.empty() ? "" : ", ") + key;
    p.error = "no " + p.key + " arithmetic on this device; it runs: " + valid;
  }
  return p;
}

Precision ResolvePrecision(const DeviceSpec& device, const Layer& layer,
                           const CostOptions& options) {
  const LayerPolicy& policy = layer.policy;
  const FloatFormat format = LayerFloat(layer, options);
  const bool integer_only =
      !device.native_int_bits.empty() &&
      std::none_of(device.peak_tops.begin(), device.peak_tops.end(), [](const auto& entry) {
        return entry.first.starts_with("fp") || entry.first == "tf32";
      });
  if ((integer_only || !device.weight_only_kernels) && IsCompute(layer) &&
      (policy.w_bits >= 32) != (policy.a_bits >= 32)) {
    // One float operand, and no kernel for that: quantized to the widest native width.
    Layer quantized = layer;
    int& float_bits = policy.w_bits >= 32 ? quantized.policy.w_bits : quantized.policy.a_bits;
    float_bits = device.native_int_bits.back();
    return ResolvePrecision(device, quantized, options);
  }
  if (!IsCompute(layer) || (policy.w_bits >= 32 && policy.a_bits >= 32)) {
    if (integer_only) {
      // An integer-only accelerator (an Edge TPU, Eyeriss) runs nothing in float: its
      // compiler quantizes every layer to its widest native width.
      Precision p;
      p.key = "int" + std::to_string(device.native_int_bits.back());
      p.label = IsCompute(layer) ? std::string(FloatFormatName(format)) + "->" + p.key : p.key;
      p.weight_bytes = p.activation_bytes = device.native_int_bits.back() / 8.0;
      return p;
    }
    return FloatPrecision(device, format);
  }
  const int a_bits = policy.a_bits >= 32 ? FloatBits(format) : policy.a_bits;
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "w" + to_string(...).
  std::string pair = "w";
  pair += std::to_string(policy.w_bits) + "a" + std::to_string(a_bits);
  if (device.peak_tops.count(pair)) {
    Precision p{pair, pair, policy.w_bits / 8.0,
                policy.a_bits >= 32 ? FloatBytes(format) : a_bits / 8.0, ""};
    return p;
  }
  if (policy.a_bits >= 32) {
    // Weight-only quantization: float arithmetic on weights unpacked on the fly.
    Precision p = FloatPrecision(device, format);
    p.label = pair.substr(0, pair.find('a')) + "->" + p.key;
    p.weight_bytes = policy.w_bits / 8.0;
    return p;
  }
  const int bits = std::max(policy.w_bits, policy.a_bits);
  const std::string wanted = "int" + std::to_string(bits);
  if (device.peak_tops.count(wanted)) {
    // Weights may be packed offline; activations are written at the width the layer runs at.
    return {wanted, wanted, policy.w_bits / 8.0, bits / 8.0, ""};
  }
  auto next_native = [&](int b) {
    return std::lower_bound(device.native_int_bits.begin(), device.native_int_bits.end(), b);
  };
  const auto wider = next_native(bits);
  if (device.unsupported_bits == UnsupportedBits::kNextSupported &&
      next_native(policy.w_bits) != device.native_int_bits.end() &&
      next_native(policy.a_bits) != device.native_int_bits.end()) {
    // A device with per-operand rates (w4a8) widens each operand on its own.
    const int w = *next_native(policy.w_bits);
    const int a = *next_native(policy.a_bits);
    std::string key = "w";
    key += std::to_string(w) + "a" + std::to_string(a);
    if (device.peak_tops.count(key)) return {key, pair + "->" + key, w / 8.0, a / 8.0, ""};
  }
  if (device.unsupported_bits == UnsupportedBits::kNextSupported &&
      wider != device.native_int_bits.end()) {
    // The data is stored at the width it executes at.
    const std::string key = "int" + std::to_string(*wider);
    return {key, wanted + "->" + key, *wider / 8.0, *wider / 8.0, ""};
  }
  Precision p = FloatPrecision(device, format);
  p.label = wanted + "->" + p.key + " (dequantized)";
  p.weight_bytes = policy.w_bits / 8.0;
  p.activation_bytes = policy.a_bits / 8.0;
  return p;
}

// A low-rank layer becomes its two factor layers; every other layer stays as it is, but for
// removable ones on a device that prunes them.
std::vector<std::pair<int, Layer>> ExpandFactorised(const NetworkSpec& spec, bool prune) {
  std::vector<std::pair<int, Layer>> layers;
  for (int i = 0; i < static_cast<int>(spec.layers.size()); ++i) {
    const Layer& layer = spec.layers[i];
    if (prune && layer.removable) continue;
    if (!IsCompute(layer) || layer.policy.rank_ratio >= 1.0 || layer.groups != 1) {
      layers.emplace_back(i, layer);
      continue;
    }
    const int64_t full = std::min<int64_t>(layer.cout,
                                           static_cast<int64_t>(layer.cin) * layer.kernel *
                                               layer.kernel);
    const int rank = std::max<int>(1, static_cast<int>(std::lround(layer.policy.rank_ratio * full)));
    Layer first = layer;
    first.cout = rank;
    first.policy.rank_ratio = 1.0;
    Layer second = first;
    second.cin = rank;
    second.cout = layer.cout;
    second.kernel = 1;
    second.stride = 1;
    second.padding = 0;
    second.h_in = layer.op == LayerOp::kConv ? layer.HOut() : 1;
    layers.emplace_back(i, first);
    layers.emplace_back(i, second);
  }
  return layers;
}

// One launched step: a layer or a fused run of layers.
struct Step {
  size_t begin = 0;
  size_t end = 0;  // exclusive, into the expanded layer list
};

std::vector<Step> FuseSteps(const DeviceSpec& device, const std::vector<std::pair<int, Layer>>& layers,
                            const CostOptions& options) {
  std::vector<Step> steps;
  for (size_t i = 0; i < layers.size();) {
    size_t length = 1;
    if (options.mode != ExecutionMode::kEager) {
      for (const auto& fusion : device.fusions) {
        const auto& pattern = fusion.ops;
        if (i + pattern.size() > layers.size()) continue;
        bool match = true;
        for (size_t j = 0; j < pattern.size() && match; ++j) {
          match = FusionName(layers[i + j].second.op) == pattern[j];
        }
        if (match && !fusion.precision.empty()) {
          match = ResolvePrecision(device, layers[i].second, options).key == fusion.precision;
        }
        if (match) {
          length = pattern.size();
          break;
        }
      }
    }
    steps.push_back({i, i + length});
    i += length;
  }
  return steps;
}

// Multiply-accumulates and weight bytes of one layer after its sparsity, and the speed-up its
// sparse pattern earns.
struct SparseWork {
  double macs = 0;
  double weight_bytes = 0;
  double compute_speedup = 1;
  double output_share = 1;  // channel pruning drops outputs
};

SparseWork ApplySparsity(const DeviceSpec& device, const Layer& layer, double weight_bytes_each) {
  SparseWork work;
  const double params = static_cast<double>(layer.Params());
  work.macs = static_cast<double>(layer.Macs());
  work.weight_bytes = params * weight_bytes_each;
  const LayerPolicy& policy = layer.policy;
  if (!IsCompute(layer) || policy.sparsity <= 0.0) return work;
  const double density = 1.0 - policy.sparsity;
  switch (policy.pattern) {
    case SparsityPattern::kChannel:
      if (!device.skips_pruned_channels) break;
      work.macs *= density;
      work.weight_bytes *= density;
      work.output_share = density;
      break;
    case SparsityPattern::kNofM: {
      const std::string key =
          std::to_string(policy.n_of_m_n) + ":" + std::to_string(policy.n_of_m_m);
      const auto it = device.n_of_m_speedup.find(key);
      if (it != device.n_of_m_speedup.end()) {
        work.compute_speedup = it->second;
        const double kept = params * policy.n_of_m_n / policy.n_of_m_m;
        work.weight_bytes = kept * weight_bytes_each + kept * std::log2(policy.n_of_m_m) / 8.0;
      }
      break;
    }
    case SparsityPattern::kUnstructured:
      if (density < device.unstructured_density_below) {
        const double kept = params * density;
        work.macs *= density;
        work.compute_speedup = device.unstructured_efficiency;
        work.weight_bytes = kept * weight_bytes_each + std::min(params / 8.0, kept * 2.0);
      }
      break;
    case SparsityPattern::kNone: break;
  }
  return work;
}

double OutputElements(const Layer& layer) {
  const double h = layer.HOut();
  return layer.op == LayerOp::kLinear || layer.op == LayerOp::kGlobalAvgPool
             ? layer.cout
             : h * h * layer.cout;
}

double InputElements(const Layer& layer) {
  return layer.op == LayerOp::kLinear ? layer.cin
                                      : static_cast<double>(layer.h_in) * layer.h_in * layer.cin;
}

// The share of its efficiency an op of this size reaches.
double Ramp(double size, double half_size) {
  return half_size > 0 && size > 0 ? size / (size + half_size) : 1.0;
}

// The work of one launched step, before the device turns it into time and energy.
struct StepWork {
  int first_layer = 0;
  int layer_count = 1;
  std::string op;
  std::string precision_key;
  std::string precision_label;
  std::string efficiency_kind;
  double macs = 0;
  double bytes = 0;
  double compute_s = 0;  // at full efficiency ramp
  double group_runs = 0;  // groups x images of a grouped conv
};

// A width a tensor is stored at: the precision key and bytes per element.
struct Width {
  std::string key;
  double bytes = 4;
};

// A tensor of channels x height x height per image changing width: a memory-bound pass, a
// unit of its own, since the reorder a runtime picks depends on the tensor, not on the layer
// that reads it.
StepWork ConversionWork(const DeviceSpec& device, int channels, int height, double batch,
                        const Width& from, const Width& to) {
  StepWork work;
  work.layer_count = 0;
  work.op = "convert";
  work.precision_key = to.key;
  work.precision_label = from.key + "->" + to.key;
  work.efficiency_kind = "convert";
  const double elements = static_cast<double>(channels) * height * height * batch;
  work.macs = elements;
  work.bytes = elements * (from.bytes + to.bytes);
  work.compute_s = elements / (device.peak_tops.at(to.key) * 0.5e12);
  return work;
}

UnitSignature ConversionSignature(int channels, int height, int batch, const std::string& from,
                                  const std::string& to) {
  UnitSignature unit{"convert/" + from + "->" + to, {channels, channels, height, 1, 1, batch}};
  for (int& value : unit.shape) value = std::max(value, 1);
  return unit;
}

// Sums steps into a network's cost, with the breakdown when asked.
class CostAccumulator {
 public:
  CostAccumulator(const DeviceSpec& device, const CostOptions& options)
      : device_(device), options_(options) {}

  // `factor` is the step's unit's residual correction.
  void Add(const StepWork& work, size_t unit, double factor) {
    const Efficiency& efficiency =
        device_.EfficiencyFor(work.efficiency_kind, work.precision_key, options_.batch);
    const double compute_s = work.compute_s / efficiency.compute /
                             Ramp(work.macs * 1e-6, efficiency.half_mmacs);
    const double memory_s = work.bytes / (device_.bandwidth_gbs * 1e9 * efficiency.bandwidth) /
                            Ramp(work.bytes * 1e-3, efficiency.half_kbytes);
    const double overhead_us =
        efficiency.overhead_us.value_or(device_.overhead_us) + efficiency.group_us * work.group_runs;
    const double work_us = std::max(compute_s, memory_s) * 1e6;
    double latency_us = (work_us + overhead_us) * factor;
    std::string bound = overhead_us > work_us ? "overhead"
                        : compute_s >= memory_s ? "compute"
                                                : "memory";
    if (options_.mode == ExecutionMode::kEager && device_.eager_overhead_us > latency_us) {
      latency_us = device_.eager_overhead_us;
      bound = "dispatch";
    }
    total_us_ += latency_us;
    if (unit_us_.size() <= unit) unit_us_.resize(unit + 1, 0.0);
    unit_us_[unit] += latency_us;
    double energy_pj = 0;
    if (device_.has_energy) {
      energy_pj = work.macs * device_.pj_per_mac.at(work.precision_key) +
                  work.bytes * device_.pj_per_byte + device_.static_w * latency_us * 1e6;
      total_pj_ += energy_pj;
    }
    if (!options_.breakdown) return;
    LayerCost row;
    row.first_layer = work.first_layer;
    row.layer_count = work.layer_count;
    row.op = work.op;
    row.precision = work.precision_label;
    row.macs = work.macs;
    row.bytes = work.bytes;
    row.latency_ms = latency_us * 1e-3;
    if (device_.has_energy) row.energy_mj = energy_pj * 1e-9;
    row.bound = bound;
    row.efficiency =
        device_.EfficiencyKey(work.efficiency_kind, work.precision_key, options_.batch);
    rows_.push_back(std::move(row));
  }

  DeviceCost Finish() {
    DeviceCost cost;
    cost.ok = true;
    cost.latency_ms = total_us_ * 1e-3;
    if (device_.has_energy) cost.energy_mj = total_pj_ * 1e-9;
    cost.layers = std::move(rows_);
    return cost;
  }

  const std::vector<double>& unit_us() const { return unit_us_; }

 private:
  const DeviceSpec& device_;
  const CostOptions& options_;
  double total_us_ = 0;
  double total_pj_ = 0;
  std::vector<double> unit_us_;
  std::vector<LayerCost> rows_;
};

std::string StepName(const std::vector<std::pair<int, Layer>>& layers, const Step& step) {
  std::string name;
  for (size_t i = step.begin; i < step.end; ++i) {
    const Layer& layer = layers[i].second;
    std::string op = FusionName(layer.op);
    if (layer.op == LayerOp::kConv) {
      op = (EfficiencyKind(layer).starts_with("depthwise") ? "dwconv" : "conv") +
           std::to_string(layer.kernel) + "x" + std::to_string(layer.kernel);
    }
    name += (name.empty() ? "" : "+") + op;
  }
  return name;
}

// The layer a step's precision and efficiency come from: its first compute layer (the conv of
// a conv+bn+relu), else its first layer.
size_t LeadLayer(const std::vector<std::pair<int, Layer>>& layers, const Step& step) {
  for (size_t i = step.begin; i < step.end; ++i) {
    if (IsCompute(layers[i].second)) return i;
  }
  return step.begin;
}

bool IsTrailing(LayerOp op) {
  return op == LayerOp::kBatchNorm || op == LayerOp::kRelu || op == LayerOp::kRelu6;
}

// Groups steps into units: a step that does not start with a batch norm or activation opens a
// unit, and the steps of those that follow join it, as a measured layer row times them.
std::vector<size_t> UnitOfSteps(const std::vector<std::pair<int, Layer>>& layers,
                                const std::vector<Step>& steps) {
  std::vector<size_t> unit_of(steps.size(), 0);
  size_t unit = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    if (s > 0 && !IsTrailing(layers[steps[s].begin].second.op)) ++unit;
    unit_of[s] = unit;
  }
  return unit_of;
}

UnitSignature SignatureOf(const std::vector<std::pair<int, Layer>>& layers, size_t begin,
                          size_t end, size_t lead, const std::string& precision, int batch) {
  // Coarse families, so that a shape few measured layers have still finds neighbours (kernel
  // and stride are part of the distance) and the activation, a cheap op of its own, does not
  // split the measured layers in two. Cross-validated on the H100 networks fitted on.
  const Layer& layer = layers[lead].second;
  UnitSignature unit;
  unit.ops = EfficiencyKind(layer).starts_with("depthwise") ? "depthwise" : FusionName(layer.op);
  for (size_t i = begin; i < end; ++i) {
    const LayerOp op = layers[i].second.op;
    if (i != lead && op != LayerOp::kRelu && op != LayerOp::kRelu6) {
      unit.ops += "+" + FusionName(op);
    }
  }
  unit.ops += "/" + precision;
  const int height = layer.op == LayerOp::kLinear ? 1 : layer.h_in;
  unit.shape = {layer.cin, layer.cout, height, layer.kernel, layer.stride, batch};
  for (int& value : unit.shape) value = std::max(value, 1);
  return unit;
}

// The roofline's cost, each unit scaled by its residual factor when `residuals` is given;
// `units` receives each unit's signature and latency.
DeviceCost StepwiseCost(const DeviceSpec& device, const std::string& device_name,
                        const NetworkSpec& spec, const CostOptions& options,
                        const LayerResiduals* residuals = nullptr,
                        std::vector<UnitCost>* units = nullptr) {
  const auto layers = ExpandFactorised(spec, device.prunes_unused_ops);
  const double batch = options.batch;
  CostAccumulator total(device, options);
  const Width float_width{std::string(FloatFormatName(options.float_format)),
                          FloatBytes(options.float_format)};
  // The width the previous step wrote its output at; the input arrives in the run's format.
  Width stored = float_width;
  const std::vector<Step> steps = FuseSteps(device, layers, options);
  const std::vector<size_t> unit_of = UnitOfSteps(layers, steps);
  std::vector<UnitSignature> signatures;
  // Signatures cost string building, so only a device with residuals or a caller asking pays.
  const bool signed_units = residuals || units;
  // Units in order: a conversion is one of its own; trailing steps join their step's unit.
  size_t next_unit = 0;
  size_t step_unit = 0;
  double factor = 1.0;
  auto convert = [&](const Layer& layer, int first_layer, const Width& from, const Width& to) {
    const int height = layer.op == LayerOp::kLinear ? 1 : layer.h_in;
    StepWork work = ConversionWork(device, layer.cin, height, batch, from, to);
    work.first_layer = first_layer;
    double convert_factor = 1.0;
    if (signed_units) {
      signatures.push_back(
          ConversionSignature(layer.cin, height, options.batch, from.key, to.key));
      if (residuals) convert_factor = residuals->Factor(signatures.back());
    }
    total.Add(work, next_unit++, convert_factor);
  };
  // Converts from a width to another, through the float format where the runtime does so.
  auto convert_between = [&](const Layer& layer, int first_layer, const Width& from,
                             const Width& to) {
    if (device.converts_through_float && from.key != float_width.key &&
        to.key != float_width.key) {
      convert(layer, first_layer, from, float_width);
      convert(layer, first_layer, float_width, to);
    } else {
      convert(layer, first_layer, from, to);
    }
  };
  // The width each residual block's saved input is kept at, by the layer whose input it is.
  std::map<int, Width> saved_width;
  std::set<int> residual_sources;
  for (const auto& [index, layer] : layers) {
    if (layer.op == LayerOp::kAdd && layer.residual_from >= 0) {
      residual_sources.insert(layer.residual_from);
    }
  }
  for (size_t s = 0; s < steps.size(); ++s) {
    const Step& step = steps[s];
    const size_t lead = LeadLayer(layers, step);
    const Layer& lead_layer = layers[lead].second;
    Precision precision = ResolvePrecision(device, lead_layer, options);
    if (device.integer_adds && lead_layer.op == LayerOp::kAdd && stored.key.starts_with("int")) {
      // Both inputs at the same integer width: added at it, with no conversion on either side.
      const auto saved = saved_width.find(lead_layer.residual_from);
      if (saved != saved_width.end() && saved->second.key == stored.key) {
        precision = {stored.key, stored.key, 0, stored.bytes, ""};
      }
    }
    if (!precision.error.empty()) {
      DeviceCost cost;
      cost.error = device_name + ": layer " + std::to_string(layers[lead].first) + " (" +
                   std::string(LayerOpName(lead_layer.op)) + "): " + precision.error;
      return cost;
    }
    const Layer& first = layers[step.begin].second;
    const Layer& last = layers[step.end - 1].second;
    const int first_index = layers[step.begin].first;
    // A block keeps its input as its first step reads it: in its stored width when that step
    // runs at it, else as the float copy made on the way. (A low-rank layer's second factor
    // shares its index; the block's input is what the first one read.)
    const Width width{precision.key, precision.activation_bytes};
    if (residual_sources.count(first_index)) {
      saved_width.try_emplace(first_index, precision.key == stored.key ? stored : float_width);
    }
    // An add reads the saved input too, at the add's own width.
    if (first.op == LayerOp::kAdd) {
      const auto saved = saved_width.find(first.residual_from);
      if (saved != saved_width.end() && saved->second.key != precision.key) {
        convert_between(first, first_index, saved->second, width);
      }
    }
    if (width.bytes != stored.bytes) convert_between(first, first_index, stored, width);
    const bool opens_unit = s == 0 || unit_of[s] != unit_of[s - 1];
    if (opens_unit) step_unit = next_unit++;
    if (signed_units && opens_unit) {
      size_t end = s;
      while (end < steps.size() && unit_of[end] == unit_of[s]) ++end;
      signatures.push_back(SignatureOf(layers, step.begin, steps[end - 1].end, lead,
                                       precision.key, options.batch));
      factor = residuals ? residuals->Factor(signatures.back()) : 1.0;
    }
    StepWork work;
    work.first_layer = layers[step.begin].first;
    work.layer_count = layers[step.end - 1].first - layers[step.begin].first + 1;
    work.op = StepName(layers, step);
    work.precision_key = precision.key;
    work.precision_label = precision.label;
    work.efficiency_kind = EfficiencyKind(lead_layer);
    if (lead_layer.groups > 1) work.group_runs = lead_layer.groups * batch;
    double weight_bytes = 0;
    double output_share = 1;
    for (size_t i = step.begin; i < step.end; ++i) {
      const Layer& layer = layers[i].second;
      const SparseWork sparse = ApplySparsity(device, layer, precision.weight_bytes);
      const double layer_macs = sparse.macs * batch * (IsCompute(layer) ? 1.0 : output_share);
      work.macs += layer_macs;
      weight_bytes += IsCompute(layer) ? sparse.weight_bytes : 0.0;
      work.compute_s +=
          layer_macs / (device.peak_tops.at(precision.key) * 0.5e12 * sparse.compute_speedup);
      if (IsCompute(layer)) output_share = sparse.output_share;
    }
    double activation_bytes = (InputElements(first) * (first.op == LayerOp::kAdd ? 2 : 1) +
                               OutputElements(last) * output_share) *
                              batch * precision.activation_bytes;
    if (activation_bytes + weight_bytes <= device.on_chip_bytes) activation_bytes = 0;
    work.bytes = activation_bytes + weight_bytes;
    total.Add(work, step_unit, factor);
    stored = width;
  }
  if (units) {
    for (size_t u = 0; u < signatures.size(); ++u) {
      units->push_back({signatures[u], total.unit_us()[u]});
    }
  }
  DeviceCost cost = total.Finish();
  cost.source = CostSource::kPredicted;
  return cost;
}

}  // namespace

DeviceCost RooflineCost(const DeviceSpec& device, const std::string& device_name,
                        const NetworkSpec& spec, const CostOptions& options,
                        const LayerResiduals* residuals) {
  // Residuals were measured against the batch's own kernels (RooflineUnits).
  if (residuals && !residuals->empty()) {
    return StepwiseCost(device, device_name, spec, options, residuals);
  }
  DeviceCost cost = StepwiseCost(device, device_name, spec, options);
  // Batch 1 never costs more than batch 2: a runtime with batch-1 kernels of its own could
  // run its batch-2 kernels on a padded input instead.
  if (cost.ok && device.batch1_kernels && options.batch == 1) {
    CostOptions padded = options;
    padded.batch = 2;
    DeviceCost batched = StepwiseCost(device, device_name, spec, padded);
    if (batched.ok && batched.latency_ms < cost.latency_ms) return batched;
  }
  return cost;
}

std::vector<UnitCost> RooflineUnits(const DeviceSpec& device, const NetworkSpec& spec,
                                    const CostOptions& options) {
  std::vector<UnitCost> units;
  if (!StepwiseCost(device, "", spec, options, nullptr, &units).ok) units.clear();
  return units;
}

std::optional<UnitCost> RooflineConversion(const DeviceSpec& device, const std::string& from,
                                           const std::string& to, int channels, int height,
                                           const CostOptions& options) {
  Width widths[2];
  for (int i = 0; i < 2; ++i) {
    const auto dtype = ParseDtype(i == 0 ? from : to);
    if (!dtype) return std::nullopt;
    Layer layer{LayerOp::kConv, 1, 1, 1, 1, 1, 0, 1, dtype->policy};
    CostOptions run = options;
    run.float_format = dtype->run_format;
    const Precision precision = ResolvePrecision(device, layer, run);
    if (!precision.error.empty()) return std::nullopt;
    widths[i] = {precision.key, precision.activation_bytes};
  }
  CostAccumulator total(device, options);
  total.Add(ConversionWork(device, channels, height, options.batch, widths[0], widths[1]), 0, 1.0);
  return UnitCost{
      ConversionSignature(channels, height, options.batch, widths[0].key, widths[1].key),
      total.unit_us()[0]};
}

namespace {

class RooflineDeviceModel : public DeviceModel {
 public:
  RooflineDeviceModel(DeviceInfo info, DeviceSpec spec, LayerResiduals residuals)
      : DeviceModel(std::move(info)), spec_(std::move(spec)), residuals_(std::move(residuals)) {}

 protected:
  DeviceCost CostOf(const NetworkSpec& spec, const CostOptions& options) const override {
    if (spec.layers.empty()) {
      DeviceCost cost;
      cost.error = name() + ": the network has no layers";
      return cost;
    }
    return RooflineCost(spec_, name(), spec, options, &residuals_);
  }

 private:
  DeviceSpec spec_;
  LayerResiduals residuals_;
};

}  // namespace

std::unique_ptr<DeviceModel> MakeRooflineDeviceModel(const ConfigNode& config, DeviceInfo info) {
  const bool calibrated = config.String("kind") == "calibrated";
  config.ExpectKeys({"name", "description", "kind", "sources", "compute", "memory", "overhead_us",
                     "eager_overhead_us", "sparse", "energy", "fuses", "prunes_unused_ops",
                     "batch1_kernels", "converts_through_float", "integer_adds", "efficiency",
                     "calibration", "residuals"});
  if (calibrated && !config.Has("calibration")) {
    config.Fail("a calibrated device records what it was fitted on under 'calibration:'");
  }
  if (!calibrated && config.Has("residuals")) {
    config.Child("residuals").Fail("residuals are measured: only a calibrated device has them");
  }
  LayerResiduals residuals =
      config.Has("residuals") ? LayerResiduals::Parse(config.Child("residuals")) : LayerResiduals();
  info.kind = calibrated ? "calibrated" : "roofline";
  DeviceSpec spec = ParseDeviceSpec(config);
  info.provides_energy = spec.has_energy;
  return std::make_unique<RooflineDeviceModel>(std::move(info), std::move(spec),
                                               std::move(residuals));
}

}  // namespace hwnas
