#include "search/sampler.h"

namespace hwnas {

namespace {

class RandomSampler : public Sampler {
 public:
  using Sampler::Sampler;
  std::string_view kind() const override { return "random"; }

 protected:
  std::vector<Candidate> DoAsk(size_t n, Rng& rng) override {
    std::vector<Candidate> batch;
    while (batch.size() < n) {
      auto c = Unseen([&] { return space_.Sample(rng); }, rng);
      if (!c) break;
      batch.push_back(std::move(*c));
    }
    return batch;
  }

  void DoTell(std::vector<Observation>) override {}
};

}  // namespace

std::unique_ptr<Sampler> MakeRandomSampler(const SamplerOptions&, const SearchSpace& space,
                                           uint64_t seed,
                                           CostOracle) {
  return std::make_unique<RandomSampler>(space, seed);
}

}  // namespace hwnas
