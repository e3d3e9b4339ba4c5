#include "core/network_spec.h"

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

}  // namespace hwnas
