#include "core/candidate.h"

#include "core/rng.h"

namespace hwnas {

uint64_t CandidateHash(std::string_view canonical) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : canonical) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return Mix64(h);
}

}  // namespace hwnas
