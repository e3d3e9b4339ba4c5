// Networks to cost or measure, one JSON object a line (the format of data/h100/nets.jsonl):
//   {"net": "a0", "input": [1, 28, 28], "classes": 10, "layers": [...]}
// A layer is
//   {"op": "conv", "cin", "cout", "k", "stride", "groups", "act": "relu"|"none"}
//       a conv without bias, then batch norm, then the activation;
//   {"op": "block", "residual": true|false, "layers": [conv, ...]}
//       convs in sequence; with residual the block's input is added to its output;
//   {"op": "gap"}   global average pooling;   {"op": "linear", "cin", "cout", "act"}.
// conv and linear layers may add their compression: "dtype" (fp32, bf16, int8, ... as in
// measurement rows), "w_bits", "a_bits", "sparsity", "pattern" (unstructured | 2:4 | 1:4 |
// channel) and "rank" (kept rank / full rank).
#pragma once

#include <string>
#include <vector>

#include "core/network_spec.h"

namespace hwnas {

// spec.key is the net id. Throws IoError / ConfigError naming the file, line and key.
std::vector<NetworkSpec> LoadNetsFile(const std::string& path);

}  // namespace hwnas
