#include "nn/layer.h"

#include <numeric>

namespace hwnas {

Parameter::Parameter(std::vector<int> dims, bool is_trainable, bool has_decay)
    : shape(std::move(dims)), trainable(is_trainable), decay(has_decay) {
  const int64_t size = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  value = Eigen::ArrayXf::Zero(size);
  grad = Eigen::ArrayXf::Zero(size);
}

void Module::CollectParameters(const std::string&, std::vector<NamedParameter>&) {}

void Module::CollectCompressible(const std::string&, std::vector<CompressibleLayer>&) {}

}  // namespace hwnas
