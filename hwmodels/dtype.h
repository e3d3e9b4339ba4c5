// The `dtype` of a measurement row or of `hwnas hw predict --dtype`: one name for the float
// format a network runs in plus the compression a layer carries. A row's dtype says how the
// timed code ran (int8 = int8 weights x int8 activations; w8a16 = int8 weights dequantized into
// bf16 arithmetic; sp24_fp16 = 2:4 sparse weights in fp16).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/layer_policy.h"
#include "core/network_spec.h"

namespace hwnas {

struct Dtype {
  FloatFormat run_format = FloatFormat::kFp32;  // for layers that name no format
  LayerPolicy policy;                           // applied to conv and linear layers
};

// nullopt for an unknown name.
std::optional<Dtype> ParseDtype(const std::string& name);
// Gives the dtype's policy to the conv and linear layers that carry none of their own.
void ApplyDtype(const Dtype& dtype, NetworkSpec& spec);
// Every valid name, for error messages and --help.
std::vector<std::string> DtypeNames();

}  // namespace hwnas
