// The compression policy of one layer.
#pragma once

#include <string_view>

namespace hwnas {

enum class SparsityPattern { kNone, kUnstructured, kNofM, kChannel };

std::string_view SparsityPatternName(SparsityPattern pattern);

// The float format a layer with 32-bit weights and activations runs in. kRunDefault takes the
// format the device is asked to cost at (a whole-network `--dtype`), so one spec serves fp32
// and fp16 deployments alike.
enum class FloatFormat { kRunDefault, kFp32, kTf32, kFp16, kBf16, kFp8 };

std::string_view FloatFormatName(FloatFormat format);

struct LayerPolicy {
  int w_bits = 32;   // weight bits; 32 means float
  int a_bits = 32;   // activation bits; 32 means float
  double sparsity = 0.0;  // share of weights that are zero, in [0, 1)
  SparsityPattern pattern = SparsityPattern::kNone;
  int n_of_m_n = 0;  // N of an N:M pattern (kNofM only)
  int n_of_m_m = 0;  // M of an N:M pattern (kNofM only)
  double rank_ratio = 1.0;  // kept rank / full rank of a low-rank factorisation, in (0, 1]
  FloatFormat float_format = FloatFormat::kRunDefault;

  bool IsDense() const { return sparsity == 0.0 && rank_ratio == 1.0; }
  bool operator==(const LayerPolicy&) const = default;
};

}  // namespace hwnas
