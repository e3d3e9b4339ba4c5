// Weight files: every parameter of a network (running statistics included), by name and shape.
//
//   hwnas-weights 1
//   checksum <16 hex digits>        StableHash of everything after this line
//   parameters <count>
//   <name> <dim> <dim> ...          one line per parameter, in network order
//   <float32 little-endian values of every parameter, in the same order>
#pragma once

#include <string>
#include <vector>

#include "nn/layer.h"

namespace hwnas {

// Writes to a temporary file and renames it, so a crash never leaves half a file behind.
void SaveWeights(const std::string& path, const std::vector<NamedParameter>& parameters);

// Fills `parameters` from the file. Throws IoError naming the file for a missing, truncated,
// corrupt or foreign file, another format version, or a parameter whose name or shape differs
// from the network's (both shapes in the message). Nothing is changed unless all of it loads.
void LoadWeights(const std::string& path, const std::vector<NamedParameter>& parameters);

}  // namespace hwnas
