// Containers: layers in sequence, and a residual block (body(x) + x).
#pragma once

#include <memory>
#include <vector>

#include "nn/layer.h"

namespace hwnas {

class Sequential : public Module {
 public:
  void Add(std::unique_ptr<Module> layer);
  size_t size() const { return layers_.size(); }
  Module& at(size_t i) { return *layers_[i]; }

  Tensor Forward(Tensor input, Mode mode) override;
  Tensor Backward(Tensor grad_output) override;
  // Module i's parameters are named "<prefix><i>.<name>".
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) override;
  void CollectCompressible(const std::string& prefix, std::vector<CompressibleLayer>& out) override;
  void ResetRunningStatistics() override;
  // One line per layer, indented by nesting.
  std::string Describe() const override;

 private:
  std::vector<std::unique_ptr<Module>> layers_;
};

// body(x) + x; the body must keep the shape.
std::unique_ptr<Module> MakeResidual(std::unique_ptr<Sequential> body);

}  // namespace hwnas
