// A 64-bit hash that is the same on every platform and build (FNV-1a, finished with a 64-bit
// mix): for dedup keys and file checksums, never std::hash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hwnas {

uint64_t StableHash(std::string_view text);
// The same hash as 16 lowercase hex digits, for file names, checksums and keys.
std::string StableHashHex(std::string_view text);

}  // namespace hwnas
