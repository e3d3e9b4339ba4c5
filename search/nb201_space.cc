// The NAS-Bench-201 cell space (data/hw-nas-bench/nb201_macro.txt): one cell of 4 nodes and 6
// edges, each edge one of 5 ops, repeated in all 15 cell positions of a fixed macro network.
// The canonical string is NAS-Bench-201's arch string, so benchmark tables key on it directly.
#include <algorithm>

#include "core/errors.h"
#include "search/search_space.h"

namespace hwnas {

namespace {

const std::vector<std::string> kNb201Ops = {"none", "skip_connect", "nor_conv_1x1",
                                            "nor_conv_3x3", "avg_pool_3x3"};

// Edge k goes from node kEdges[k].from into node kEdges[k].to, in arch-string order.
struct Edge {
  int to;
  int from;
};
constexpr Edge kEdges[] = {{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}};
constexpr int kNodes = 4;

class Nb201Space : public SearchSpace {
 public:
  Nb201Space(std::vector<std::string> ops, int channels, int cells_per_stage, int in_channels,
             int in_size, int classes)
      : SearchSpace("nb201", MakeKnobs(ops)),
        channels_(channels),
        cells_per_stage_(cells_per_stage),
        in_channels_(in_channels),
        in_size_(in_size),
        classes_(classes) {}

  std::string Format(const Candidate& candidate) const override {
    std::string text = "|";
    for (size_t k = 0; k < std::size(kEdges); ++k) {
      if (k > 0 && kEdges[k].to != kEdges[k - 1].to) text += "+|";
      text += Op(candidate, k) + "~" + std::to_string(kEdges[k].from) + "|";
    }
    return text;
  }

  Candidate Parse(std::string_view text) const override {
    // |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
    Candidate candidate;
    auto fail = [&](const std::string& why) -> Candidate {
      throw ConfigError("nb201 architecture '" + std::string(text) + "': " + why +
                        "; expected the form |op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op one of " +
                        JoinNames(knobs()[0].choices));
    };
    if (text.substr(0, 1) != "|") return fail("missing the leading '|'");
    size_t pos = 1;
    for (size_t k = 0; k < std::size(kEdges); ++k) {
      if (k > 0 && kEdges[k].to != kEdges[k - 1].to) {
        if (text.substr(pos, 2) != "+|") {
          return fail("missing '+|' before node " + std::to_string(kEdges[k].to));
        }
        pos += 2;
      }
      const size_t tilde = text.find('~', pos);
      if (tilde == std::string_view::npos) return fail("missing '~' on edge " + std::to_string(k + 1));
      const std::string op(text.substr(pos, tilde - pos));
      const auto& choices = knobs()[k].choices;
      const auto it = std::find(choices.begin(), choices.end(), op);
      if (it == choices.end()) return fail("unknown op '" + op + "'");
      const std::string from = std::to_string(kEdges[k].from) + "|";
      if (text.substr(tilde + 1, from.size()) != from) {
        return fail("edge " + std::to_string(k + 1) + " must come from node " +
                    std::to_string(kEdges[k].from));
      }
      pos = tilde + 1 + from.size();
      candidate.choices.push_back(static_cast<int>(it - choices.begin()));
    }
    if (pos != text.size()) return fail("unexpected text after the last edge");
    return candidate;
  }

  // Beside MACs and parameters, what the cell computes: an edge only matters on a path from the
  // cell's input to its output that no `none` edge cuts, and a cell without such a path
  // outputs zeros (chance-level accuracy).
  std::vector<double> Features(const Candidate& candidate, const NetworkSpec& spec) const override {
    std::vector<double> features = SearchSpace::Features(candidate, spec);
    bool live_edge[std::size(kEdges)] = {};
    LiveEdges(candidate, live_edge);
    double live_paths = 0, deepest = 0, skip_only = 0;
    for (const auto& path : kPaths) {
      bool live = true, all_skip = true;
      double convs = 0;
      for (int e : path) {
        live = live && Op(candidate, e) != "none";
        all_skip = all_skip && Op(candidate, e) == "skip_connect";
        convs += Op(candidate, e).rfind("nor_conv", 0) == 0;
      }
      if (!live) continue;
      ++live_paths;
      deepest = std::max(deepest, convs);
      skip_only += all_skip;
    }
    double conv3 = 0, conv1 = 0, pool = 0;
    for (size_t e = 0; e < std::size(kEdges); ++e) {
      if (!live_edge[e]) continue;
      conv3 += Op(candidate, e) == "nor_conv_3x3";
      conv1 += Op(candidate, e) == "nor_conv_1x1";
      pool += Op(candidate, e) == "avg_pool_3x3";
    }
    features.insert(features.end(), {live_paths, deepest, skip_only, conv3, conv1, pool});
    return features;
  }

  bool IgnoresInput(const Candidate& candidate) const override {
    bool live_edge[std::size(kEdges)] = {};
    return !LiveEdges(candidate, live_edge);
  }

  // An edge off every live path computes nothing the output sees: to a surrogate it is `none`
  // (as in the path encodings of BANANAS, White et al. 2021). On bench/front_recovery (30
  // seeds) it cut the guided sampler's median evaluations on edgegpu from 39 to 25, raspi4 41 to 35.
  std::vector<int> LearnedChoices(const Candidate& candidate) const override {
    const auto& ops = knobs()[0].choices;
    const auto none = std::find(ops.begin(), ops.end(), "none");
    if (none == ops.end()) return candidate.choices;  // every edge is on a live path
    bool live_edge[std::size(kEdges)] = {};
    LiveEdges(candidate, live_edge);
    std::vector<int> choices = candidate.choices;
    for (size_t e = 0; e < std::size(kEdges); ++e) {
      if (!live_edge[e]) choices[e] = static_cast<int>(none - ops.begin());
    }
    return choices;
  }

  NetworkSpec BuildNetwork(const Candidate& candidate) const override {
    NetworkSpec spec;
    spec.in_channels = in_channels_;
    spec.in_size = in_size_;
    spec.classes = classes_;
    auto& layers = spec.layers;
    auto conv = [&](int cin, int cout, int kernel, int stride, int size) {
      layers.push_back({LayerOp::kConv, cin, cout, kernel, stride, 1, kernel / 2, size, {}});
    };
    auto simple = [&](LayerOp op, int c, int size) {
      layers.push_back({op, c, c, 1, 1, 1, 0, size, {}});
    };
    auto relu_conv_bn = [&](int cin, int cout, int kernel, int stride, int size) {
      simple(LayerOp::kRelu, cin, size);
      conv(cin, cout, kernel, stride, size);
      simple(LayerOp::kBatchNorm, cout, (size + stride - 1) / stride);
    };

    int size = in_size_;
    conv(in_channels_, channels_, 3, 1, size);
    simple(LayerOp::kBatchNorm, channels_, size);
    int c = channels_;
    for (int stage = 0; stage < 3; ++stage) {
      if (stage > 0) {
        // ResNet basic block, stride 2: two conv-bn branches plus an avgpool + 1x1 shortcut.
        relu_conv_bn(c, 2 * c, 3, 2, size);
        relu_conv_bn(2 * c, 2 * c, 3, 1, size / 2);
        layers.push_back({LayerOp::kAvgPool, c, c, 2, 2, 1, 0, size, {}});
        conv(c, 2 * c, 1, 1, size / 2);
        size /= 2;
        c *= 2;
        simple(LayerOp::kAdd, c, size);
      }
      for (int cell = 0; cell < cells_per_stage_; ++cell) AddCell(candidate, c, size, layers);
    }
    simple(LayerOp::kBatchNorm, c, size);
    simple(LayerOp::kRelu, c, size);
    layers.push_back({LayerOp::kGlobalAvgPool, c, c, size, 1, 1, 0, size, {}});
    layers.push_back({LayerOp::kLinear, c, classes_, 1, 1, 1, 0, 1, {}});
    // Cells without a live path output zeros: the network's output is a constant.
    bool live_edge[std::size(kEdges)] = {};
    if (!LiveEdges(candidate, live_edge)) {
      for (auto& layer : layers) layer.removable = true;
    }
    return spec;
  }

 private:
  static std::vector<Knob> MakeKnobs(const std::vector<std::string>& ops) {
    std::vector<Knob> knobs;
    for (const auto& edge : kEdges) {
      knobs.push_back({"edge_" + std::to_string(edge.to) + "_" + std::to_string(edge.from), ops});
    }
    return knobs;
  }

  // The four input -> output paths, as edge indices into kEdges.
  static inline const std::vector<std::vector<int>> kPaths = {{3}, {0, 4}, {1, 5}, {0, 2, 5}};

  // Marks the edges on a path from the cell's input to its output that no `none` edge cuts;
  // returns whether there is any such path.
  bool LiveEdges(const Candidate& candidate, bool live_edge[]) const {
    bool any = false;
    for (const auto& path : kPaths) {
      bool live = true;
      for (int e : path) live = live && Op(candidate, e) != "none";
      if (!live) continue;
      any = true;
      for (int e : path) live_edge[e] = true;
    }
    return any;
  }

  const std::string& Op(const Candidate& candidate, size_t edge) const {
    return knobs()[edge].choices[candidate.choices[edge]];
  }

  // Appends the cell's layers; those off every live path are removable.
  void AddCell(const Candidate& candidate, int c, int size, std::vector<Layer>& layers) const {
    bool live_edge[std::size(kEdges)] = {};
    LiveEdges(candidate, live_edge);
    int inputs[kNodes] = {};
    int live_inputs[kNodes] = {};
    for (size_t k = 0; k < std::size(kEdges); ++k) {
      const std::string& op = Op(candidate, k);
      if (op == "none") continue;
      ++inputs[kEdges[k].to];
      live_inputs[kEdges[k].to] += live_edge[k];
      const size_t first = layers.size();
      if (op == "nor_conv_1x1" || op == "nor_conv_3x3") {
        const int kernel = op == "nor_conv_1x1" ? 1 : 3;
        layers.push_back({LayerOp::kRelu, c, c, 1, 1, 1, 0, size, {}});
        layers.push_back({LayerOp::kConv, c, c, kernel, 1, 1, kernel / 2, size, {}});
        layers.push_back({LayerOp::kBatchNorm, c, c, 1, 1, 1, 0, size, {}});
      } else if (op == "avg_pool_3x3") {
        layers.push_back({LayerOp::kAvgPool, c, c, 3, 1, 1, 1, size, {}});
      }
      for (size_t i = first; i < layers.size(); ++i) layers[i].removable = !live_edge[k];
    }
    for (int node = 1; node < kNodes; ++node) {
      for (int i = 1; i < inputs[node]; ++i) {
        layers.push_back({LayerOp::kAdd, c, c, 1, 1, 1, 0, size, {}});
        layers.back().removable = i >= live_inputs[node];
      }
    }
  }

  int channels_;
  int cells_per_stage_;
  int in_channels_;
  int in_size_;
  int classes_;
};

}  // namespace

std::unique_ptr<SearchSpace> MakeNb201Space(const ConfigNode& config) {
  config.ExpectKeys({"kind", "ops", "channels", "cells_per_stage", "input_channels", "input_size",
                     "classes"});
  std::vector<std::string> ops = kNb201Ops;
  if (config.Has("ops")) {
    ops.clear();
    for (const auto& item : config.Child("ops").Items()) {
      const std::string op = item.AsString();
      if (std::find(kNb201Ops.begin(), kNb201Ops.end(), op) == kNb201Ops.end()) {
        item.Fail("unknown op '" + op + "'; valid: " + JoinNames(kNb201Ops));
      }
      if (std::find(ops.begin(), ops.end(), op) != ops.end()) item.Fail("op '" + op + "' listed twice");
      ops.push_back(op);
    }
    if (ops.empty()) config.Child("ops").Fail("the space needs at least one op");
  }
  return std::make_unique<Nb201Space>(
      ops, static_cast<int>(config.Int("channels", 1, 4096, 16)),
      static_cast<int>(config.Int("cells_per_stage", 1, 64, 5)),
      static_cast<int>(config.Int("input_channels", 1, 4096, 3)),
      static_cast<int>(config.Int("input_size", 4, 4096, 32)),
      static_cast<int>(config.Int("classes", 2, 100000, 10)));
}

}  // namespace hwnas
