#include "evaluator/supernet.h"

#include <algorithm>
#include <numeric>

#include "core/errors.h"
#include "evaluator/batch_iterator.h"
#include "nn/loss.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"

namespace hwnas {

namespace {

// Where a smaller parameter sits inside a larger one: the first entries of every dimension,
// except the kernel dimensions (2 and 3 of a conv weight), which take the centre.
class SliceMap {
 public:
  SliceMap(const std::vector<int>& full, const std::vector<int>& part, const std::string& where) {
    if (full.size() != part.size()) {
      throw UnsupportedError(where + ": parameter shapes differ in rank");
    }
    for (size_t d = 0; d < full.size(); ++d) {
      if (part[d] > full[d] || (d >= 2 && (full[d] - part[d]) % 2 != 0)) {
        throw UnsupportedError(where + ": dimension " + std::to_string(d) + " of size " +
                               std::to_string(part[d]) + " does not fit the supernet's " +
                               std::to_string(full[d]));
      }
    }
    // The full index of every element of the part, in the part's row-major order.
    indices_.push_back(0);
    for (size_t d = 0; d < full.size(); ++d) {
      const int offset = d >= 2 ? (full[d] - part[d]) / 2 : 0;
      std::vector<int64_t> next;
      next.reserve(indices_.size() * part[d]);
      for (int64_t base : indices_) {
        for (int i = 0; i < part[d]; ++i) next.push_back(base * full[d] + offset + i);
      }
      indices_ = std::move(next);
    }
  }

  void CopyOut(const Eigen::ArrayXf& full, Eigen::ArrayXf& part) const {
    for (size_t i = 0; i < indices_.size(); ++i) part[i] = full[indices_[i]];
  }
  void AddBack(const Eigen::ArrayXf& part, Eigen::ArrayXf& full) const {
    for (size_t i = 0; i < indices_.size(); ++i) full[indices_[i]] += part[i];
  }

 private:
  std::vector<int64_t> indices_;
};

// Permutes a parameter along dimension `dim` (0 = rows, 1 = the blocks of a row).
void Permute(Parameter& p, int dim, const std::vector<int>& order) {
  const int64_t outer = dim == 0 ? 1 : p.shape[0];
  const int64_t count = p.shape[dim];
  const int64_t inner = p.value.size() / (outer * count);
  const Eigen::ArrayXf old = p.value;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < count; ++c) {
      p.value.segment((o * count + c) * inner, inner) =
          old.segment((o * count + order[c]) * inner, inner);
    }
  }
}

// Union-find over channel dimensions.
int Root(std::vector<int>& parent, int d) {
  while (parent[d] != d) d = parent[d] = parent[parent[d]];
  return d;
}

}  // namespace

// A layer of a network built from the supernet: the shared parameters, the layer's own, and
// where each of its own sits in the shared one.
struct Supernet::InheritedLayer {
  const std::vector<NamedParameter>* full;
  std::vector<NamedParameter> part;
  std::vector<SliceMap> slices;
};

NetworkSpec DenseFloat(NetworkSpec spec) {
  for (auto& layer : spec.layers) layer.policy = {};
  return spec;
}

Supernet::Supernet(const NetworkSpec& largest, uint64_t seed) : largest_(DenseFloat(largest)) {
  network_ = BuildNetwork(largest_, seed, [&](const Layer& layer, const std::vector<NamedParameter>& p) {
    if (layer.name.empty()) throw UnsupportedError("a supernet needs named layers");
    layers_[layer.name] = p;
  });
}

std::vector<NamedParameter> Supernet::Parameters() {
  std::vector<NamedParameter> parameters;
  network_->CollectParameters("", parameters);
  return parameters;
}

std::unique_ptr<Sequential> Supernet::Inherit(const NetworkSpec& spec,
                                              std::vector<LayerCompression>* compression) const {
  return BuildInherited(spec, nullptr, compression);
}

std::unique_ptr<Sequential> Supernet::BuildInherited(const NetworkSpec& spec,
                                                     std::vector<InheritedLayer>* inherited,
                                                     std::vector<LayerCompression>* compression) const {
  return BuildNetwork(spec, 0, [&](const Layer& layer, const std::vector<NamedParameter>& part) {
    const auto it = layers_.find(layer.name);
    if (it == layers_.end()) {
      throw UnsupportedError("layer '" + layer.name + "' is not in the supernet");
    }
    InheritedLayer entry{&it->second, part, {}};
    for (size_t i = 0; i < part.size(); ++i) {
      entry.slices.emplace_back(it->second[i].parameter->shape, part[i].parameter->shape, layer.name);
      entry.slices.back().CopyOut(it->second[i].parameter->value, part[i].parameter->value);
    }
    if (inherited) inherited->push_back(std::move(entry));
  }, compression);
}

void Supernet::SortChannels() {
  // Give every tensor's channel dimension an id; a residual add merges its two inputs' ids.
  const auto& layers = largest_.layers;
  std::vector<int> parent;
  auto fresh = [&] { parent.push_back(static_cast<int>(parent.size())); return parent.back(); };
  std::vector<int> in_dim(layers.size()), out_dim(layers.size());
  int current = fresh();
  const int input = current;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    in_dim[i] = current;
    const bool depthwise = l.op == LayerOp::kConv && l.groups > 1;
    if ((l.op == LayerOp::kConv && !depthwise) || l.op == LayerOp::kLinear) current = fresh();
    if (l.op == LayerOp::kAdd && l.residual_from >= 0) {
      parent[Root(parent, in_dim[l.residual_from])] = Root(parent, current);
    }
    out_dim[i] = current;
  }
  const int output = Root(parent, current);
  // Importance of each channel: the L1 norm of every weight row that produces it.
  std::map<int, Eigen::ArrayXd> importance;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    if ((l.op != LayerOp::kConv || l.groups > 1) && l.op != LayerOp::kLinear) continue;
    const Parameter& w = *layers_.at(l.name)[0].parameter;
    const int64_t per_row = w.value.size() / l.cout;
    auto& sum = importance[Root(parent, out_dim[i])];
    if (sum.size() == 0) sum = Eigen::ArrayXd::Zero(l.cout);
    for (int c = 0; c < l.cout; ++c) {
      sum[c] += w.value.segment(c * per_row, per_row).abs().cast<double>().sum();
    }
  }
  std::map<int, std::vector<int>> orders;
  for (const auto& [dim, sum] : importance) {
    if (dim == output || dim == Root(parent, input)) continue;
    std::vector<int> order(sum.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sum[a] > sum[b]; });
    orders[dim] = std::move(order);
  }
  auto order_of = [&](int dim) -> const std::vector<int>* {
    const auto it = orders.find(Root(parent, dim));
    return it == orders.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    const auto it = layers_.find(l.name);
    if (it == layers_.end()) continue;
    const auto& params = it->second;
    if (l.op == LayerOp::kBatchNorm || (l.op == LayerOp::kConv && l.groups > 1)) {
      if (const auto* order = order_of(out_dim[i])) {
        for (const auto& p : params) Permute(*p.parameter, 0, *order);
      }
      continue;
    }
    if (const auto* order = order_of(out_dim[i])) {
      Permute(*params[0].parameter, 0, *order);
      if (params.size() > 1) Permute(*params[1].parameter, 0, *order);  // a linear's bias
    }
    if (const auto* order = order_of(in_dim[i])) Permute(*params[0].parameter, 1, *order);
  }
}

void Supernet::Train(const Dataset& train, const SpaceNetworks& space,
                     const SandwichOptions& options, const TrainProgress& progress) {
  if (options.steps < 1 || options.random_networks < 0) {
    throw ConfigError("supernet training needs at least one step and no negative count of "
                      "random networks");
  }
  auto parameters = Parameters();
  auto optimizer = MakeSgd(parameters, {.learning_rate = options.peak_learning_rate,
                                        .momentum = 0.9,
                                        .weight_decay = options.weight_decay,
                                        .nesterov = true});
  const auto schedule = MakeOneCycleSchedule(options.peak_learning_rate, options.steps);
  const BatchOptions batching{.batch_size = options.batch_size, .drop_last = true,
                              .seed = options.seed, .augment = options.augment};
  const Rng root(options.seed);
  int64_t epoch = 0;
  auto batches = std::make_unique<BatchIterator>(train, batching, epoch);
  for (int64_t step = 0; step < options.steps; ++step) {
    Batch batch;
    if (!batches->Next(batch)) {
      batches = std::make_unique<BatchIterator>(train, batching, ++epoch);
      batches->Next(batch);
    }
    schedule->Apply(step, *optimizer);
    optimizer->ZeroGrad();
    const Tensor images = ToTensor(batch.images, train.shape);
    // The largest network learns from the labels; its outputs teach the others.
    const Tensor soft_targets = network_->Forward(images, Mode::kTrain);
    network_->Backward(CrossEntropy(soft_targets, batch.labels).grad);
    Rng rng = root.Fork(static_cast<uint64_t>(step));
    std::vector<NetworkSpec> students = {DenseFloat(space.smallest)};
    for (int r = 0; r < options.random_networks; ++r) students.push_back(DenseFloat(space.sample(rng)));
    for (const NetworkSpec& spec : students) {
      std::vector<InheritedLayer> inherited;
      auto student = BuildInherited(spec, &inherited, nullptr);
      const Tensor logits = student->Forward(images, Mode::kTrain);
      student->Backward(DistillationLoss(logits, soft_targets, batch.labels, options.distill.alpha,
                                         options.distill.temperature).grad);
      for (const InheritedLayer& entry : inherited) {
        for (size_t i = 0; i < entry.part.size(); ++i) {
          if (!entry.part[i].parameter->trainable) continue;
          entry.slices[i].AddBack(entry.part[i].parameter->grad, (*entry.full)[i].parameter->grad);
        }
      }
    }
    optimizer->Step();
    if (progress) progress(step + 1, options.steps);
  }
}

}  // namespace hwnas
