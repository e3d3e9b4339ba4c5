#include "core/network_spec.h"

#include <algorithm>

#include "core/errors.h"

namespace hwnas {

std::string_view LayerOpName(LayerOp op) {
  switch (op) {
    case LayerOp::kConv: return "conv";
    case LayerOp::kLinear: return "linear";
    case LayerOp::kAvgPool: return "avgpool";
    case LayerOp::kMaxPool: return "maxpool";
    case LayerOp::kGlobalAvgPool: return "gap";
    case LayerOp::kAdd: return "add";
    case LayerOp::kBatchNorm: return "bn";
    case LayerOp::kRelu: return "relu";
    case LayerOp::kRelu6: return "relu6";
  }
  HWNAS_CHECK(false);
}

std::string_view SparsityPatternName(SparsityPattern pattern) {
  switch (pattern) {
    case SparsityPattern::kNone: return "none";
    case SparsityPattern::kUnstructured: return "unstructured";
    case SparsityPattern::kNofM: return "n:m";
    case SparsityPattern::kChannel: return "channel";
  }
  HWNAS_CHECK(false);
}

std::string_view FloatFormatName(FloatFormat format) {
  switch (format) {
    case FloatFormat::kRunDefault: return "default";
    case FloatFormat::kFp32: return "fp32";
    case FloatFormat::kTf32: return "tf32";
    case FloatFormat::kFp16: return "fp16";
    case FloatFormat::kBf16: return "bf16";
    case FloatFormat::kFp8: return "fp8";
  }
  HWNAS_CHECK(false);
}

int Layer::HOut() const {
  switch (op) {
    case LayerOp::kConv:
    case LayerOp::kAvgPool:
    case LayerOp::kMaxPool:
      return (h_in + 2 * padding - kernel) / stride + 1;
    case LayerOp::kLinear:
    case LayerOp::kGlobalAvgPool: return 1;
    case LayerOp::kAdd:
    case LayerOp::kBatchNorm:
    case LayerOp::kRelu:
    case LayerOp::kRelu6: return h_in;
  }
  HWNAS_CHECK(false);
}

int64_t Layer::Macs() const {
  const int64_t out_pixels = static_cast<int64_t>(HOut()) * HOut();
  switch (op) {
    case LayerOp::kConv:
      return out_pixels * cout * (cin / groups) * kernel * kernel;
    case LayerOp::kLinear: return static_cast<int64_t>(cin) * cout;
    case LayerOp::kAvgPool:
    case LayerOp::kMaxPool: return out_pixels * cout * kernel * kernel;
    case LayerOp::kGlobalAvgPool: return static_cast<int64_t>(h_in) * h_in * cin;
    case LayerOp::kAdd:
    case LayerOp::kBatchNorm:
    case LayerOp::kRelu:
    case LayerOp::kRelu6: return out_pixels * cout;
  }
  HWNAS_CHECK(false);
}

int64_t Layer::Params() const {
  switch (op) {
    case LayerOp::kConv:
      return static_cast<int64_t>(cout) * (cin / groups) * kernel * kernel;
    case LayerOp::kLinear: return static_cast<int64_t>(cin) * cout + cout;
    case LayerOp::kBatchNorm: return 2 * static_cast<int64_t>(cout);
    default: return 0;
  }
}

std::string SignatureField(std::string_view label, int value) {
  std::string field = "_";
  field += label;
  field += std::to_string(value);
  return field;
}

std::string LayerSignature(const Layer& layer, std::string_view type) {
  std::string name(type);
  if (name.empty()) {
    switch (layer.op) {
      case LayerOp::kConv: name = "Conv"; break;
      case LayerOp::kLinear: name = "FC"; break;
      case LayerOp::kAvgPool:
      case LayerOp::kGlobalAvgPool: name = "AvgP"; break;
      case LayerOp::kMaxPool: name = "MaxP"; break;
      case LayerOp::kAdd: name = "Add"; break;
      case LayerOp::kBatchNorm: name = "BN"; break;
      case LayerOp::kRelu: name = "ReLU"; break;
      case LayerOp::kRelu6: name = "ReLU6"; break;
    }
  }
  // Every key of HW-NAS-Bench's grammar but FC's starts with the input shape.
  const auto field = SignatureField;
  if (layer.op == LayerOp::kLinear) {
    return name + field("Cin", layer.cin) + field("Cout", layer.cout);
  }
  name += field("H", layer.h_in) + field("W", layer.h_in) + field("Cin", layer.cin) +
          field("Cout", layer.cout);
  switch (layer.op) {
    case LayerOp::kConv:
      return name + field("kernel", layer.kernel) + field("stride", layer.stride) +
             field("group", layer.groups);
    case LayerOp::kAvgPool:
    case LayerOp::kMaxPool:
      return name + field("kernel", layer.kernel) + field("stride", layer.stride);
    case LayerOp::kGlobalAvgPool: return name + field("kernel", layer.h_in) + field("stride", 1);
    default: return name;
  }
}

int64_t NetworkSpec::Macs() const {
  int64_t total = 0;
  for (const auto& layer : layers) total += layer.Macs();
  return total;
}

int64_t NetworkSpec::Params() const {
  int64_t total = 0;
  for (const auto& layer : layers) total += layer.Params();
  return total;
}

bool NetworkSpec::IsUncompressed() const {
  return std::all_of(layers.begin(), layers.end(),
                     [](const Layer& layer) { return layer.policy == LayerPolicy{}; });
}

std::vector<LayerGroup> NetworkSpec::CostEntries() const {
  std::vector<LayerGroup> entries;
  int next = 0;  // first layer not yet in an entry
  auto singles_until = [&](int end) {
    for (; next < end; ++next) entries.push_back({LayerSignature(layers[next]), next, 1});
  };
  for (const auto& group : groups) {
    HWNAS_CHECK(group.first_layer >= next && group.layer_count >= 0 &&
                group.first_layer + group.layer_count <= static_cast<int>(layers.size()));
    singles_until(group.first_layer);
    entries.push_back(group);
    next += group.layer_count;
  }
  singles_until(static_cast<int>(layers.size()));
  return entries;
}

}  // namespace hwnas
