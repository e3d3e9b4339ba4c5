// A weight-sharing supernet in the style of Once-for-All / BigNAS: one set of weights, those of
// the space's largest network, from which every candidate inherits its own:
//   - the first channels of every layer (channels are ranked by importance, SortChannels);
//   - the centre of every kernel;
//   - the first blocks of every stage (layers are matched by their spec names).
// Training follows the sandwich rule: each step trains the largest network on the labels, and
// the smallest and some random ones on the largest's outputs (in-place distillation); their
// gradients add up in the shared weights before one optimizer step.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/network_spec.h"
#include "core/rng.h"
#include "evaluator/augmentation.h"
#include "evaluator/dataset.h"
#include "evaluator/evaluator.h"
#include "evaluator/trainer.h"
#include "nn/network.h"
#include "nn/training_step.h"

namespace hwnas {

struct SandwichOptions {
  int64_t steps = 1000;
  int64_t batch_size = 128;
  double peak_learning_rate = 0.05;  // one-cycle
  double weight_decay = 5e-5;
  int random_networks = 2;  // besides the largest and the smallest
  DistillOptions distill{.alpha = 0.0, .temperature = 1.0};  // in-place: soft targets only
  AugmentOptions augment;
  uint64_t seed = 0;
};

class Supernet {
 public:
  // `largest` must have named layers; its policies are ignored.
  Supernet(const NetworkSpec& largest, uint64_t seed);

  // The largest network: its weights are the shared ones.
  Sequential& network() { return *network_; }
  std::vector<NamedParameter> Parameters();

  // A candidate's network with inherited weights, then its policy applied (nn/network.h).
  // Throws UnsupportedError for a layer the largest network lacks or outgrows.
  std::unique_ptr<Sequential> Inherit(const NetworkSpec& spec,
                                      std::vector<LayerCompression>* compression = nullptr) const;

  // Reorders every channel dimension by importance (the L1 norm of the weights that produce
  // each channel), most important first, without changing what the largest network computes
  // beyond float rounding.
  void SortChannels();

  void Train(const Dataset& train, const SpaceNetworks& space, const SandwichOptions& options,
             const TrainProgress& progress = {});

 private:
  struct InheritedLayer;
  // Inherit, also recording each layer's slices when `inherited` is given (for training).
  std::unique_ptr<Sequential> BuildInherited(const NetworkSpec& spec,
                                             std::vector<InheritedLayer>* inherited,
                                             std::vector<LayerCompression>* compression) const;

  NetworkSpec largest_;
  std::unique_ptr<Sequential> network_;
  std::map<std::string, std::vector<NamedParameter>> layers_;  // by spec layer name
};

// Every layer's policy reset to dense float.
NetworkSpec DenseFloat(NetworkSpec spec);

}  // namespace hwnas
