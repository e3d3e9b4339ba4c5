#include "nn/network.h"

#include "compress/low_rank.h"
#include "core/errors.h"
#include "core/rng.h"
#include "nn/compression_policy.h"
#include "nn/weight_file.h"

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

struct BuildContext {
  Rng init;
  const LayerInitializer& initialize;
  std::vector<LayerCompression>* compression;
};

// The layer's module, its parameters set by the initializer when there is one.
std::unique_ptr<Module> MakeInitialized(const Layer& l, size_t index, BuildContext& context) {
  auto module = MakeLayer(l, index, context.init);
  if (context.initialize) {
    std::vector<NamedParameter> parameters;
    module->CollectParameters("", parameters);
    context.initialize(l, parameters);
  }
  return module;
}

// The two factor modules of a low-rank layer: fresh ones, or the SVD of its starting weights.
std::vector<std::unique_ptr<Module>> LowRankParts(const Layer& l, size_t index, BuildContext& context) {
  const bool conv = l.op == LayerOp::kConv;
  if (conv && l.groups != 1) {
    throw UnsupportedError("layer " + std::to_string(index) + ": low rank of a grouped conv");
  }
  const int inputs = conv ? l.cin * l.kernel * l.kernel : l.cin;
  const int rank = RankForRatio(l.policy.rank_ratio, std::min(l.cout, inputs));
  std::vector<std::unique_ptr<Module>> parts;
  if (conv) {
    parts.push_back(MakeConv2d({.cin = l.cin, .cout = rank, .kernel = l.kernel, .stride = l.stride,
                                .padding = l.padding}, context.init));
    parts.push_back(MakeConv2d({.cin = rank, .cout = l.cout, .kernel = 1}, context.init));
  } else {
    parts.push_back(MakeLinear(l.cin, rank, context.init));
    parts.push_back(MakeLinear(rank, l.cout, context.init));
  }
  if (!context.initialize) return parts;
  // W ~ second * first; the layer's bias (linear) stays with the second factor.
  std::vector<NamedParameter> dense;
  auto whole = MakeInitialized(l, index, context);
  whole->CollectParameters("", dense);
  const LowRankFactors factors = LowRankFactorize(
      Eigen::Map<const WeightMatrix>(dense[0].parameter->value.data(), l.cout, inputs), rank);
  std::vector<NamedParameter> first, second;
  parts[0]->CollectParameters("", first);
  parts[1]->CollectParameters("", second);
  Eigen::Map<WeightMatrix>(first[0].parameter->value.data(), rank, inputs) = factors.first;
  Eigen::Map<WeightMatrix>(second[0].parameter->value.data(), l.cout, rank) = factors.second;
  if (!conv) {
    first[1].parameter->value.setZero();
    second[1].parameter->value = dense[1].parameter->value;
  }
  return parts;
}

// A conv or linear layer with its policy: activation quantization before it, two factor
// layers for a low rank (k x k to r channels, then 1 x 1 to Cout), and its weights pruned and
// quantized as the policy says.
void AddWeightLayer(const Layer& l, size_t index, BuildContext& context, Sequential& into) {
  const LayerPolicy& policy = l.policy;
  if (policy.a_bits < 32) into.Add(MakeActivationQuantizer(policy.a_bits));
  std::vector<std::unique_ptr<Module>> parts;
  if (policy.rank_ratio < 1) {
    parts = LowRankParts(l, index, context);
  } else {
    parts.push_back(MakeInitialized(l, index, context));
  }
  CompressionReport report;
  for (auto& part : parts) {
    std::vector<CompressibleLayer> weights;
    part->CollectCompressible("", weights);
    for (const auto& w : weights) report += ApplyWeightPolicy(w, policy);
    into.Add(std::move(part));
  }
  if (context.compression) {
    context.compression->push_back({l.name.empty() ? std::to_string(index) : l.name, report});
  }
}

// Layers [first, end) of the spec into `into`; a kAdd closes the residual block that starts
// at its residual_from.
void Build(const NetworkSpec& spec, size_t first, size_t end, BuildContext& context, Sequential& into) {
  for (size_t i = first; i < end; ++i) {
    // The residual that starts here ends at the farthest kAdd pointing back to i.
    size_t block_end = i;
    for (size_t j = i + 1; j < end; ++j) {
      const auto& l = spec.layers[j];
      if (l.op == LayerOp::kAdd && l.residual_from == static_cast<int>(i)) block_end = j;
    }
    if (block_end > i) {
      auto body = std::make_unique<Sequential>();
      Build(spec, i, block_end, context, *body);
      into.Add(MakeResidual(std::move(body)));
      i = block_end;
      continue;
    }
    const Layer& layer = spec.layers[i];
    if (layer.op == LayerOp::kConv || layer.op == LayerOp::kLinear) {
      AddWeightLayer(layer, i, context, into);
    } else if (layer.op == LayerOp::kBatchNorm) {
      into.Add(MakeInitialized(layer, i, context));
    } else {
      into.Add(MakeLayer(layer, i, context.init));
    }
  }
}

}  // namespace

std::unique_ptr<Sequential> BuildNetwork(const NetworkSpec& spec, uint64_t seed) {
  return BuildNetwork(spec, seed, {});
}

std::unique_ptr<Sequential> BuildNetwork(const NetworkSpec& spec, uint64_t seed,
                                         const LayerInitializer& initialize,
                                         std::vector<LayerCompression>* compression) {
  KeepFreedActivationMemory();
  BuildContext context{Rng(seed), initialize, compression};
  auto network = std::make_unique<Sequential>();
  network->set_input_gradient(false);
  Build(spec, 0, spec.layers.size(), context, *network);
  return network;
}

NetworkSpec SmallImageReferenceSpec(int width) {
  NetworkSpec spec;
  spec.in_channels = 1;
  spec.in_size = 28;
  spec.classes = 10;
  int cin = 1, size = 28;
  for (const auto& [cout, stride] : {std::pair{16, 1}, {32, 2}, {64, 2}}) {
    const Layer conv{LayerOp::kConv, cin, cout * width, 3, stride, 1, 1, size, {}};
    spec.layers.push_back(conv);
    size = conv.HOut();
    spec.layers.push_back({LayerOp::kBatchNorm, cout * width, cout * width, 1, 1, 1, 0, size, {}});
    spec.layers.push_back({LayerOp::kRelu, cout * width, cout * width, 1, 1, 1, 0, size, {}});
    cin = cout * width;
  }
  spec.layers.push_back({LayerOp::kGlobalAvgPool, cin, cin, size, 1, 1, 0, size, {}});
  spec.layers.push_back({LayerOp::kLinear, cin, 10, 1, 1, 1, 0, 1, {}});
  return spec;
}

void LoadNetworkWeights(const std::string& path, Sequential& network) {
  std::vector<NamedParameter> parameters;
  network.CollectParameters("", parameters);
  LoadWeights(path, parameters);
  std::vector<CompressibleLayer> layers;
  network.CollectCompressible("", layers);
  for (const auto& layer : layers) {
    if (!layer.compression->mask()) continue;
    const ConstRowMap weights(layer.weight->value.data(), layer.rows, layer.cols);
    layer.compression->SetMask(Mask((weights.array() != 0.0f).cast<float>().matrix()), *layer.weight,
                               layer.rows, layer.cols);
  }
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
