// Free upgrades: policy changes a device does not charge for. A device that runs 2-bit weights
// as int8, or gains nothing from unstructured sparsity, costs a more faithful policy the same,
// and its model says so before any training. A generic optimizer has to stumble on such a
// change one mutation at a time; a hardware-aware one takes it directly.
#pragma once

#include <cstddef>

#include "search/sampler.h"

namespace hwnas {

// `candidate` with its compression policies made as faithful as they can be at no cost on
// device `device`: knob by knob, a policy steps to a more faithful neighbour (the space's
// FaithfulSteps) for as long as some step leaves every cost objective of that device, and the
// constraint violation, no higher than the candidate's own. The candidate itself when nothing
// is free, or the device cannot cost it.
Candidate FreeUpgrade(const SearchSpace& space, const Candidate& candidate, size_t device,
                      const CostOracle& costs);

}  // namespace hwnas
