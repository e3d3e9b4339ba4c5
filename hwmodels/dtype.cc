#include "hwmodels/dtype.h"

#include <utility>

namespace hwnas {

namespace {

LayerPolicy Integer(int w_bits, int a_bits, FloatFormat format = FloatFormat::kRunDefault) {
  LayerPolicy policy;
  policy.w_bits = w_bits;
  policy.a_bits = a_bits;
  policy.float_format = format;
  return policy;
}

LayerPolicy TwoOfFour() {
  LayerPolicy policy;
  policy.sparsity = 0.5;
  policy.pattern = SparsityPattern::kNofM;
  policy.n_of_m_n = 2;
  policy.n_of_m_m = 4;
  return policy;
}

const std::vector<std::pair<std::string, Dtype>>& Table() {
  static const std::vector<std::pair<std::string, Dtype>> table = {
      {"fp32", {FloatFormat::kFp32, {}}},
      {"tf32", {FloatFormat::kTf32, {}}},
      {"fp16", {FloatFormat::kFp16, {}}},
      {"bf16", {FloatFormat::kBf16, {}}},
      {"fp8", {FloatFormat::kFp8, {}}},
      {"fp8_e4m3", {FloatFormat::kFp8, {}}},
      {"int16", {FloatFormat::kFp32, Integer(16, 16)}},
      {"int8", {FloatFormat::kFp32, Integer(8, 8)}},
      {"int4", {FloatFormat::kFp32, Integer(4, 4)}},
      {"w8a16", {FloatFormat::kBf16, Integer(8, 32)}},
      {"w4a16", {FloatFormat::kBf16, Integer(4, 32)}},
      {"sp24_fp16", {FloatFormat::kFp16, TwoOfFour()}},
      {"sp24_bf16", {FloatFormat::kBf16, TwoOfFour()}},
      // Layers carry their own policies (a nets file with per-layer dtypes).
      {"mixed", {FloatFormat::kFp32, {}}},
  };
  return table;
}

}  // namespace

std::optional<Dtype> ParseDtype(const std::string& name) {
  for (const auto& [key, dtype] : Table()) {
    if (key == name) return dtype;
  }
  return std::nullopt;
}

void ApplyDtype(const Dtype& dtype, NetworkSpec& spec) {
  for (auto& layer : spec.layers) {
    const bool computes = layer.op == LayerOp::kConv || layer.op == LayerOp::kLinear;
    if (computes && layer.policy == LayerPolicy{}) layer.policy = dtype.policy;
  }
}

std::vector<std::string> DtypeNames() {
  std::vector<std::string> names;
  for (const auto& entry : Table()) names.push_back(entry.first);
  return names;
}

}  // namespace hwnas
