#include "core/stable_hash.h"

#include <cstdio>

#include "core/rng.h"

namespace hwnas {

uint64_t StableHash(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return Mix64(h);
}

std::string StableHashHex(std::string_view text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(StableHash(text)));
  return hex;
}

}  // namespace hwnas
