#include "core/candidate.h"

#include "core/stable_hash.h"

namespace hwnas {

uint64_t CandidateHash(std::string_view canonical) { return StableHash(canonical); }

}  // namespace hwnas
