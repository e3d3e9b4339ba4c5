#include "core/stable_hash.h"

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

}  // namespace hwnas
