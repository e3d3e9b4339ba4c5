#include "nn/network.h"

#include "core/errors.h"
#include "core/rng.h"

namespace hwnas {

namespace {

std::unique_ptr<Module> MakeLayer(const Layer& l, size_t index, Rng& init) {
  switch (l.op) {
    case LayerOp::kConv:
      return MakeConv2d({.cin = l.cin, .cout = l.cout, .kernel = l.kernel, .stride = l.stride,
                         .padding = l.padding, .groups = l.groups},
                        init);
    case LayerOp::kLinear: return MakeLinear(l.cin, l.cout, init);
    case LayerOp::kAvgPool: return MakeAvgPool(l.kernel, l.stride, l.padding);
    case LayerOp::kMaxPool: return MakeMaxPool(l.kernel, l.stride, l.padding);
    case LayerOp::kGlobalAvgPool: return MakeGlobalAvgPool();
    case LayerOp::kBatchNorm: return MakeBatchNorm(l.cout);
    case LayerOp::kRelu: return MakeRelu();
    case LayerOp::kRelu6: return MakeRelu6();
    case LayerOp::kAdd: break;
  }
  throw UnsupportedError("layer " + std::to_string(index) +
                         ": an add without residual_from (a multi-input node sum) cannot be trained");
}

// Layers [first, end) of the spec into `into`; a kAdd closes the residual block that starts
// at its residual_from.
void Build(const NetworkSpec& spec, size_t first, size_t end, Rng& init, Sequential& into) {
  for (size_t i = first; i < end; ++i) {
    // The residual that starts here ends at the farthest kAdd pointing back to i.
    size_t block_end = i;
    for (size_t j = i + 1; j < end; ++j) {
      const auto& l = spec.layers[j];
      if (l.op == LayerOp::kAdd && l.residual_from == static_cast<int>(i)) block_end = j;
    }
    if (block_end > i) {
      auto body = std::make_unique<Sequential>();
      Build(spec, i, block_end, init, *body);
      into.Add(MakeResidual(std::move(body)));
      i = block_end;
      continue;
    }
    into.Add(MakeLayer(spec.layers[i], i, init));
  }
}

}  // namespace

std::unique_ptr<Sequential> BuildNetwork(const NetworkSpec& spec, uint64_t seed) {
  Rng init(seed);
  auto network = std::make_unique<Sequential>();
  network->set_input_gradient(false);
  Build(spec, 0, spec.layers.size(), init, *network);
  return network;
}

int64_t TrainableParameterCount(Sequential& network) {
  std::vector<NamedParameter> parameters;
  network.CollectParameters("", parameters);
  int64_t count = 0;
  for (const auto& p : parameters) {
    if (p.parameter->trainable) count += p.parameter->value.size();
  }
  return count;
}

}  // namespace hwnas
