// A platform-stable random generator (xoshiro256**, seeded by SplitMix64). Unlike the
// std::*_distribution classes its output is identical on every standard library, and streams
// are forked from a parent by work-item index, never by thread, so runs reproduce at any thread
// count.
#pragma once

#include <cstdint>

namespace hwnas {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // An independent stream for work item `index` of this generator's seed.
  Rng Fork(uint64_t index) const;

  uint64_t NextU64();
  // Uniform in [0, 1).
  double Uniform();
  // Uniform integer in [0, n), unbiased. n must be positive.
  uint64_t Below(uint64_t n);
  bool Bernoulli(double p) { return Uniform() < p; }

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

// SplitMix64 finaliser: a good 64-bit mix, used for seeding and hashing.
uint64_t Mix64(uint64_t x);

}  // namespace hwnas
