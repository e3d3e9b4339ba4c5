// The `fmnist` space: MobileNetV2-like networks for 1 x 28 x 28 images, searched jointly with a
// compression policy for every conv and linear layer.
//
//   stem      conv 3x3 (a width choice) + BN + ReLU6
//   stages    3, at resolution 28, 14, 7; each its own depth and width; block b of stage s is an
//             inverted residual: [1x1 expand] -> kxk depthwise (stride on the first block) ->
//             1x1 project, BN after each conv, ReLU6 after the first two, and an identity
//             residual on every block but a stage's first
//   classifier global average pooling + linear
//
// A layer's policy is one knob whose choices are the (w_bits, a_bits, sparsity, pattern, rank)
// tuples the space file's rules allow for that kind of layer (stem, expand, depthwise, project,
// classifier), so every sampled, mutated or crossed candidate is valid by construction.
//
// Canonical string: the knobs that have an effect, "name=choice" joined by ';', e.g.
//   stem.width=16;stem=w8a8;s1.depth=1;s1.width=16;s1.b1.k=3;s1.b1.e=1;s1.b1.dw=w8a8;...;fc=w8a8
// Blocks beyond a stage's depth, and the expand layer of an expansion-1 block, are left out.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include "core/errors.h"
#include "search/search_space.h"

namespace hwnas {

namespace {

constexpr int kInputSize = 28;
constexpr int kInputChannels = 1;
constexpr int kStages = 3;
constexpr int kMaxDepth = 4;
constexpr int kStageStrides[kStages] = {1, 2, 2};

enum class LayerKind { kStem, kExpand, kDepthwise, kProject, kClassifier };
constexpr int kLayerKinds = 5;
const std::vector<std::string> kLayerKindNames = {"stem", "expand", "depthwise", "project",
                                                  "classifier"};

// A policy's place along each dimension of the space file's policy lists (each sorted), so that
// policies have neighbours: one step in one dimension. A dense policy has no pattern (-1).
enum PolicyDimension { kWBits, kABits, kSparsity, kPattern, kRank, kPolicyDimensions };
using PolicyPosition = std::array<int, kPolicyDimensions>;

struct PolicyChoice {
  LayerPolicy policy;
  std::string pattern;  // as the space file names it: unstructured, channel, or N:M
  std::string name;     // the knob choice, e.g. "w4a8-u75-r1/2"
  PolicyPosition position;
};

// Steps between two policies: index differences along the ordered dimensions, plus one for a
// change of pattern between two sparse policies.
int PolicyDistance(const PolicyPosition& a, const PolicyPosition& b) {
  int distance = 0;
  for (int d : {kWBits, kABits, kSparsity, kRank}) distance += std::abs(a[d] - b[d]);
  if (a[kPattern] >= 0 && b[kPattern] >= 0 && a[kPattern] != b[kPattern]) ++distance;
  return distance;
}

// One rule of the space file: a layer whose values match every `when` list must have its values
// in every `then` list.
struct Rule {
  std::map<std::string, std::vector<std::string>> when, then;
};

const std::vector<std::string> kRuleKeys = {"layer", "w_bits", "a_bits", "sparsity", "pattern",
                                            "rank"};

std::string NumberText(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The rank ratio as a fraction: 0.5 -> "1/2", 0.25 -> "1/4".
std::string RankText(double ratio) {
  const double inverse = 1.0 / ratio;
  if (std::abs(inverse - std::round(inverse)) < 1e-9) return "1/" + NumberText(std::round(inverse));
  return NumberText(ratio);
}

std::string ChoiceName(const LayerPolicy& p, const std::string& pattern) {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "w" + to_string(...).
  std::string name = "w";
  name += std::to_string(p.w_bits) + "a" + std::to_string(p.a_bits);
  if (p.sparsity > 0) {
    if (p.pattern == SparsityPattern::kNofM) {
      name += "-" + pattern;
    } else {
      name += std::string("-") + (p.pattern == SparsityPattern::kChannel ? "c" : "u") +
              NumberText(std::round(p.sparsity * 100));
    }
  }
  if (p.rank_ratio < 1) name += "-r" + RankText(p.rank_ratio);
  return name;
}

struct Stage {
  std::vector<int> depths;
  std::vector<int> widths;
};

// Where each knob sits in a candidate's choice vector: stem.width, stem, then per stage its
// depth, width and 4 blocks of 5 knobs, then fc.
struct BlockKnobs {
  int kernel, expansion, expand, depthwise, project;
};
constexpr int kStemWidthKnob = 0;
constexpr int kStemPolicyKnob = 1;
constexpr int kStageKnobs = 2 + kMaxDepth * 5;
constexpr int kClassifierKnob = 2 + kStages * kStageKnobs;
constexpr int DepthKnob(int s) { return 2 + s * kStageKnobs; }
constexpr int WidthKnob(int s) { return DepthKnob(s) + 1; }
constexpr BlockKnobs BlockKnobsOf(int s, int b) {
  const int first = DepthKnob(s) + 2 + b * 5;
  return {first, first + 1, first + 2, first + 3, first + 4};
}

class FmnistSpace : public SearchSpace {
 public:
  struct Options {
    std::string name;
    int classes = 10;
    std::vector<int> stem_widths;
    Stage stages[kStages];
    std::vector<int> kernels;
    std::vector<int> expansions;
    std::vector<PolicyChoice> policies[kLayerKinds];  // valid ones, per layer kind
    PolicyPosition dimension_sizes;                    // of the policy lists
  };

  explicit FmnistSpace(Options options)
      : SearchSpace(options.name, MakeKnobs(options)),
        options_(std::move(options)),
        knob_kinds_(KnobKinds()) {
    for (int kind = 0; kind < kLayerKinds; ++kind) {
      const auto& policies = options_.policies[kind];
      auto& neighbours = neighbours_[kind];
      neighbours.resize(policies.size());
      for (size_t i = 0; i < policies.size(); ++i) {
        for (size_t j = 0; j < policies.size(); ++j) {
          if (PolicyDistance(policies[i].position, policies[j].position) == 1) {
            neighbours[i].push_back(static_cast<int>(j));
          }
        }
      }
    }
  }

  // Independent uniform choices per knob would leave both ends of every front unexplored: the
  // average network would be a fraction of the largest, and almost never free of some badly
  // damaged layer (1 in 64 of a 1x1 conv's policies is 6+ bits, dense and full rank). Instead a
  // candidate draws two network-wide numbers:
  //   size      uniform from the smallest network to the largest; every architecture knob
  //             (whose lists ascend) takes a choice near that position;
  //   strength  from no compression to the harshest the lists allow, leaning mild (u^2):
  //             accuracy collapses at 2-3 bits and 90% sparsity, and a few samples map that
  //             end. Each policy dimension takes a position near it (the pattern is drawn
  //             freely), and each layer the valid policy nearest to those positions.
  // A share of the layers (drawn per candidate, leaning small) then step to a neighbouring
  // policy, so samples are network-wide policies of every strength with per-layer refinements.
  Candidate Sample(Rng& rng) const override {
    constexpr double kJitter = 0.5;  // how far a knob's position strays from the network's
    auto near = [&](double position) {
      return std::clamp(position + kJitter * (rng.Uniform() - 0.5), 0.0, 1.0);
    };
    auto index = [](double position, int choices) {
      return std::min(choices - 1, static_cast<int>(position * choices));
    };
    const double size = rng.Uniform();
    const double mildness = rng.Uniform();
    const double strength = mildness * mildness;
    PolicyPosition shared;
    for (int d : {kWBits, kABits, kSparsity, kRank}) {
      const int steps = index(near(strength), options_.dimension_sizes[d]);
      // Bit lists ascend, so their mildest choice is the last; the others start mildest.
      shared[d] = d == kWBits || d == kABits ? options_.dimension_sizes[d] - 1 - steps : steps;
    }
    // Against a dense policy the pattern counts nothing, so a drawn pattern is harmless there.
    shared[kPattern] = static_cast<int>(rng.Below(options_.dimension_sizes[kPattern]));
    std::array<int, kLayerKinds> nearest;
    for (int kind = 0; kind < kLayerKinds; ++kind) nearest[kind] = NearestPolicy(kind, shared);
    const double u = rng.Uniform();
    const double deviating = u * u;
    Candidate c;
    for (size_t k = 0; k < knobs().size(); ++k) {
      const int kind = knob_kinds_[k];
      const int n = static_cast<int>(knobs()[k].choices.size());
      if (kind < 0) {
        c.choices.push_back(index(near(size), n));
      } else {
        const int policy = nearest[kind];
        c.choices.push_back(rng.Bernoulli(deviating) ? MutatedChoice(k, policy, rng) : policy);
      }
    }
    return Canonical(c);
  }

  Candidate Canonical(Candidate c) const override {
    if (c.choices.size() != knobs().size()) return c;
    for (int s = 0; s < kStages; ++s) {
      const int depth = Depth(c, s);
      for (int b = 0; b < kMaxDepth; ++b) {
        const BlockKnobs k = BlockKnobsOf(s, b);
        if (b >= depth) {
          for (int knob : {k.kernel, k.expansion, k.expand, k.depthwise, k.project}) {
            c.choices[knob] = 0;
          }
        } else if (Expansion(c, s, b) == 1) {
          c.choices[k.expand] = 0;
        }
      }
    }
    return c;
  }

  std::string ArchitectureKey() const override {
    auto list = [](const std::vector<int>& values) {
      std::string text = "[";
      for (int v : values) text += std::to_string(v) + ",";
      return text + "]";
    };
    std::string key = "fmnist classes " + std::to_string(options_.classes) + " stem " +
                      list(options_.stem_widths);
    for (const Stage& stage : options_.stages) key += " stage " + list(stage.depths) + list(stage.widths);
    key += " kernels " + list(options_.kernels) + " expansions " + list(options_.expansions);
    // The supernet trains on sampled networks, so how they are drawn belongs to the key too.
    // Sampling draws each layer's policy from the same random stream as the architecture, so
    // the policy lists change which architectures are drawn.
    key += " sampling 2 policies";
    for (const auto& policies : options_.policies) {
      key += " [";
      for (const PolicyChoice& choice : policies) key += choice.name + ",";
      key += "]";
    }
    return key;
  }

  bool IsValid(const Candidate& c) const override {
    return SearchSpace::IsValid(c) && Canonical(c) == c;
  }

  std::string Format(const Candidate& c) const override {
    HWNAS_CHECK(c.choices.size() == knobs().size());
    std::string text;
    for (size_t k = 0; k < knobs().size(); ++k) {
      if (!Active(c, static_cast<int>(k))) continue;
      if (!text.empty()) text += ';';
      text += knobs()[k].name + "=" + knobs()[k].choices[c.choices[k]];
    }
    return text;
  }

  Candidate Parse(std::string_view text) const override {
    const std::string quoted = "candidate '" + std::string(text) + "': ";
    std::map<std::string, std::string, std::less<>> given;
    size_t start = 0;
    while (start <= text.size()) {
      const size_t end = std::min(text.find(';', start), text.size());
      const std::string_view item = text.substr(start, end - start);
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        throw ConfigError(quoted + "expected name=choice, got '" + std::string(item) + "'");
      }
      if (!given.emplace(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1))).second) {
        throw ConfigError(quoted + "knob '" + std::string(item.substr(0, eq)) + "' given twice");
      }
      start = end + 1;
    }
    Candidate c;
    c.choices.assign(knobs().size(), 0);
    // Knobs in order: whether a knob is active depends only on knobs before it.
    for (size_t k = 0; k < knobs().size(); ++k) {
      const Knob& knob = knobs()[k];
      const auto it = given.find(knob.name);
      if (!Active(c, static_cast<int>(k))) {
        if (it != given.end()) {
          throw ConfigError(quoted + "knob '" + knob.name + "' has no effect here (its block is "
                            "beyond the stage's depth, or has expansion 1); leave it out");
        }
        continue;
      }
      if (it == given.end()) throw ConfigError(quoted + "missing knob '" + knob.name + "'");
      const auto choice = std::find(knob.choices.begin(), knob.choices.end(), it->second);
      if (choice == knob.choices.end()) {
        throw ConfigError(quoted + "knob '" + knob.name + "' has no choice '" + it->second +
                          "'; valid: " + Abbreviated(knob.choices));
      }
      c.choices[k] = static_cast<int>(choice - knob.choices.begin());
      given.erase(it);
    }
    if (!given.empty()) {
      throw ConfigError(quoted + "unknown knob '" + given.begin()->first + "'");
    }
    return c;
  }

  double Size() const override {
    auto policies = [&](LayerKind kind) {
      return static_cast<double>(options_.policies[static_cast<int>(kind)].size());
    };
    // One block: kernel x (expansion 1: dw x project policies; else expand x dw x project).
    double block = 0;
    for (int e : options_.expansions) {
      block += policies(LayerKind::kDepthwise) * policies(LayerKind::kProject) *
               (e == 1 ? 1.0 : policies(LayerKind::kExpand));
    }
    block *= static_cast<double>(options_.kernels.size());
    double size = static_cast<double>(options_.stem_widths.size()) * policies(LayerKind::kStem) *
                  policies(LayerKind::kClassifier);
    for (const Stage& stage : options_.stages) {
      double depths = 0;
      for (int d : stage.depths) depths += std::pow(block, d);
      size *= depths * static_cast<double>(stage.widths.size());
    }
    return size;
  }

 protected:
  NetworkSpec BuildNetwork(const Candidate& c) const override {
    NetworkSpec spec;
    spec.in_channels = kInputChannels;
    spec.in_size = kInputSize;
    spec.classes = options_.classes;
    auto& layers = spec.layers;
    auto add = [&](LayerOp op, int cin, int cout, int kernel, int stride, int groups, int size,
                   const std::string& name, LayerPolicy policy = {}) {
      Layer layer{op, cin, cout, kernel, stride, groups, kernel / 2, size, policy};
      layer.name = name;
      layers.push_back(std::move(layer));
      return layers.back().HOut();
    };
    // conv -> BN [-> ReLU6]; returns the output size.
    auto conv = [&](int cin, int cout, int kernel, int stride, int groups, int size,
                    const std::string& name, int policy_knob, LayerKind kind, bool relu) {
      const int out = add(LayerOp::kConv, cin, cout, kernel, stride, groups, size, name,
                          Policy(c, policy_knob, kind));
      add(LayerOp::kBatchNorm, cout, cout, 1, 1, 1, out, name + ".bn");
      if (relu) add(LayerOp::kRelu6, cout, cout, 1, 1, 1, out, name + ".relu");
      return out;
    };

    int cin = options_.stem_widths[c.choices[kStemWidthKnob]];
    int size = conv(kInputChannels, cin, 3, 1, 1, kInputSize, "stem", kStemPolicyKnob,
                    LayerKind::kStem, true);
    for (int s = 0; s < kStages; ++s) {
      const int cout = options_.stages[s].widths[c.choices[WidthKnob(s)]];
      for (int b = 0; b < Depth(c, s); ++b) {
        const BlockKnobs k = BlockKnobsOf(s, b);
        std::string prefix = "s";  // piecewise, as in ChoiceName
        prefix += std::to_string(s + 1) + ".b" + std::to_string(b + 1);
        const int first = static_cast<int>(layers.size());
        const int expansion = Expansion(c, s, b);
        const int hidden = cin * expansion;
        if (expansion > 1) {
          conv(cin, hidden, 1, 1, 1, size, prefix + ".exp", k.expand, LayerKind::kExpand, true);
        }
        const int kernel = options_.kernels[c.choices[k.kernel]];
        const int stride = b == 0 ? kStageStrides[s] : 1;
        const int out = conv(hidden, hidden, kernel, stride, hidden, size, prefix + ".dw",
                             k.depthwise, LayerKind::kDepthwise, true);
        conv(hidden, cout, 1, 1, 1, out, prefix + ".proj", k.project, LayerKind::kProject, false);
        if (b > 0) {
          add(LayerOp::kAdd, cout, cout, 1, 1, 1, out, prefix + ".add");
          layers.back().residual_from = first;
        }
        size = out;
        cin = cout;
      }
    }
    add(LayerOp::kGlobalAvgPool, cin, cin, size, 1, 1, size, "pool");
    layers.back().padding = 0;
    add(LayerOp::kLinear, cin, options_.classes, 1, 1, 1, 1, "fc",
        Policy(c, kClassifierKnob, LayerKind::kClassifier));
    return spec;
  }

  // Beside log MACs and parameters: the MAC-weighted mean weight and activation bits, the mean
  // density, log bit-operations and log model bytes: what compression does, in numbers.
  std::vector<double> Features(const Candidate& c, const NetworkSpec& spec) const override {
    std::vector<double> features = SearchSpace::Features(c, spec);
    double macs = 0, w_bits = 0, a_bits = 0, density = 0, bops = 0, bits = 0;
    for (const Layer& l : spec.layers) {
      if (l.op != LayerOp::kConv && l.op != LayerOp::kLinear) continue;
      const double kept = (1 - l.policy.sparsity) * l.policy.rank_ratio;
      const double m = static_cast<double>(l.Macs());
      macs += m;
      w_bits += m * l.policy.w_bits;
      a_bits += m * l.policy.a_bits;
      density += m * kept;
      bops += m * kept * l.policy.w_bits * l.policy.a_bits;
      bits += static_cast<double>(l.Params()) * kept * l.policy.w_bits;
    }
    features.insert(features.end(), {w_bits / macs, a_bits / macs, density / macs,
                                     std::log1p(bops), std::log1p(bits / 8)});
    return features;
  }

 private:
  static std::vector<Knob> MakeKnobs(const Options& o) {
    std::vector<Knob> knobs;
    auto add = [&](std::string name, std::vector<std::string> choices) {
      knobs.push_back({std::move(name), std::move(choices)});
    };
    auto numbers = [](const std::vector<int>& values) {
      std::vector<std::string> names;
      for (int v : values) names.push_back(std::to_string(v));
      return names;
    };
    auto policies = [&](LayerKind kind) {
      std::vector<std::string> names;
      for (const auto& p : o.policies[static_cast<int>(kind)]) names.push_back(p.name);
      return names;
    };
    add("stem.width", numbers(o.stem_widths));
    add("stem", policies(LayerKind::kStem));
    for (int s = 0; s < kStages; ++s) {
      const std::string prefix = "s" + std::to_string(s + 1);
      add(prefix + ".depth", numbers(o.stages[s].depths));
      add(prefix + ".width", numbers(o.stages[s].widths));
      for (int b = 0; b < kMaxDepth; ++b) {
        const std::string block = prefix + ".b" + std::to_string(b + 1);
        add(block + ".k", numbers(o.kernels));
        add(block + ".e", numbers(o.expansions));
        add(block + ".exp", policies(LayerKind::kExpand));
        add(block + ".dw", policies(LayerKind::kDepthwise));
        add(block + ".proj", policies(LayerKind::kProject));
      }
    }
    add("fc", policies(LayerKind::kClassifier));
    HWNAS_CHECK(knobs.size() == kClassifierKnob + 1);
    return knobs;
  }

  int Depth(const Candidate& c, int s) const {
    return options_.stages[s].depths[c.choices[DepthKnob(s)]];
  }
  int Expansion(const Candidate& c, int s, int b) const {
    return options_.expansions[c.choices[BlockKnobsOf(s, b).expansion]];
  }
  LayerPolicy Policy(const Candidate& c, int knob, LayerKind kind) const {
    return options_.policies[static_cast<int>(kind)][c.choices[knob]].policy;
  }

  // Whether knob k has an effect, judged by the knobs before it.
  bool Active(const Candidate& c, int k) const {
    for (int s = 0; s < kStages; ++s) {
      for (int b = 0; b < kMaxDepth; ++b) {
        const BlockKnobs block = BlockKnobsOf(s, b);
        if (k < block.kernel || k > block.project) continue;
        if (b >= Depth(c, s)) return false;
        return k != block.expand || Expansion(c, s, b) > 1;
      }
    }
    return true;
  }

  // A layer's policy mutates by one step in one dimension (2 -> 3 bits, 75% -> 90% sparsity,
  // unstructured -> channel), so a mutation refines a policy instead of replacing it.
  int MutatedChoice(size_t knob, int current, Rng& rng) const override {
    const int kind = knob_kinds_[knob];
    if (kind < 0 || neighbours_[kind][current].empty()) {
      return SearchSpace::MutatedChoice(knob, current, rng);
    }
    const auto& neighbours = neighbours_[kind][current];
    return neighbours[rng.Below(neighbours.size())];
  }

  std::vector<int> FaithfulSteps(size_t knob, int current) const override {
    const int kind = knob_kinds_[knob];
    if (kind < 0) return {};
    const auto& policies = options_.policies[kind];
    const LayerPolicy& p = policies[current].policy;
    std::vector<int> steps;
    for (int n : neighbours_[kind][current]) {
      const LayerPolicy& q = policies[n].policy;
      const bool no_less = q.w_bits >= p.w_bits && q.a_bits >= p.a_bits &&
                           q.sparsity <= p.sparsity && q.rank_ratio >= p.rank_ratio;
      const bool more = q.w_bits > p.w_bits || q.a_bits > p.a_bits || q.sparsity < p.sparsity ||
                        q.rank_ratio > p.rank_ratio;
      if (no_less && more) steps.push_back(n);
    }
    return steps;
  }

  int NearestPolicy(int kind, const PolicyPosition& target) const {
    const auto& policies = options_.policies[kind];
    int best = 0;
    for (size_t i = 1; i < policies.size(); ++i) {
      if (PolicyDistance(policies[i].position, target) <
          PolicyDistance(policies[best].position, target)) {
        best = static_cast<int>(i);
      }
    }
    return best;
  }

  // The layer kind whose policy each knob holds; -1 for architecture knobs.
  std::vector<int> KnobKinds() const {
    std::vector<int> kinds(knobs().size(), -1);
    kinds[kStemPolicyKnob] = static_cast<int>(LayerKind::kStem);
    kinds[kClassifierKnob] = static_cast<int>(LayerKind::kClassifier);
    for (int s = 0; s < kStages; ++s) {
      for (int b = 0; b < kMaxDepth; ++b) {
        const BlockKnobs block = BlockKnobsOf(s, b);
        kinds[block.expand] = static_cast<int>(LayerKind::kExpand);
        kinds[block.depthwise] = static_cast<int>(LayerKind::kDepthwise);
        kinds[block.project] = static_cast<int>(LayerKind::kProject);
      }
    }
    return kinds;
  }

  // A long choice list in an error: its first few and how many.
  static std::string Abbreviated(const std::vector<std::string>& choices) {
    constexpr size_t kShown = 8;
    if (choices.size() <= kShown) return JoinNames(choices);
    return JoinNames({choices.begin(), choices.begin() + kShown}) + ", ... (" +
           std::to_string(choices.size()) + " choices)";
  }

  Options options_;
  std::vector<int> knob_kinds_;
  std::vector<std::vector<int>> neighbours_[kLayerKinds];  // per policy, its one-step neighbours
};

std::vector<int> PositiveInts(const ConfigNode& list, int hi) {
  std::vector<int> values;
  for (const auto& item : list.Items()) {
    const int v = static_cast<int>(item.AsInt(1, hi));
    if (std::find(values.begin(), values.end(), v) != values.end()) {
      item.Fail("value " + std::to_string(v) + " listed twice");
    }
    values.push_back(v);
  }
  if (values.empty()) list.Fail("needs at least one value");
  // Ascending, so a candidate's first and last choices are the space's smallest and largest.
  std::sort(values.begin(), values.end());
  return values;
}

// The values a rule's list names, as the layer's own values are written.
std::vector<std::string> RuleValues(const ConfigNode& list, const std::string& key) {
  std::vector<std::string> values;
  for (const auto& item : list.Items()) {
    if (key == "layer") {
      const std::string v = item.AsString();
      if (std::find(kLayerKindNames.begin(), kLayerKindNames.end(), v) == kLayerKindNames.end()) {
        item.Fail("unknown layer kind '" + v + "'; valid: " + JoinNames(kLayerKindNames));
      }
      values.push_back(v);
    } else if (key == "pattern") {
      values.push_back(item.AsString());
    } else {
      values.push_back(NumberText(item.AsDouble(0, 64)));
    }
  }
  if (values.empty()) list.Fail("needs at least one value");
  return values;
}

std::vector<Rule> ReadRules(const ConfigNode& config) {
  std::vector<Rule> rules;
  if (!config.Has("rules")) return rules;
  for (const auto& item : config.Child("rules").Items()) {
    item.ExpectKeys({"if", "then"});
    Rule rule;
    for (auto [side, into] : {std::pair{"if", &rule.when}, {"then", &rule.then}}) {
      const ConfigNode part = item.Child(side);
      if (!part.IsMap()) part.Fail("expected a mapping of " + JoinNames(kRuleKeys) + " to lists");
      for (const auto& key : part.Keys()) {
        if (std::find(kRuleKeys.begin(), kRuleKeys.end(), key) == kRuleKeys.end()) {
          part.Fail("unknown key '" + key + "'; valid: " + JoinNames(kRuleKeys));
        }
        (*into)[key] = RuleValues(part.Child(key), key);
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool Matches(const std::map<std::string, std::vector<std::string>>& lists,
             const std::map<std::string, std::string>& values) {
  for (const auto& [key, allowed] : lists) {
    if (std::find(allowed.begin(), allowed.end(), values.at(key)) == allowed.end()) return false;
  }
  return true;
}

// Every (w_bits, a_bits, sparsity, pattern, rank) tuple the policy lists give, for each layer
// kind the ones no rule forbids. A dense layer's pattern means nothing, so it has one tuple.
void ReadPolicies(const ConfigNode& config, FmnistSpace::Options& options) {
  const ConfigNode policy = config.Child("policy");
  policy.ExpectKeys({"w_bits", "a_bits", "sparsity", "pattern", "rank"});
  auto bits = [&](std::string_view key) {
    std::vector<int> values = PositiveInts(policy.Child(key), 32);
    for (int b : values) {
      if (b != 32 && (b < 2 || b > 16)) {
        policy.Child(key).Fail("bits must be 2..16, or 32 for float; got " + std::to_string(b));
      }
    }
    return values;
  };
  const std::vector<int> w_bits = bits("w_bits"), a_bits = bits("a_bits");
  // Sorted from the mildest, so neighbouring positions are neighbouring strengths.
  auto strengths = [&](std::string_view key, double lo, double hi, bool descending) {
    const ConfigNode list = policy.Child(key);
    std::vector<double> values;
    for (const auto& item : list.Items()) {
      const double v = item.AsDouble(lo, hi);
      if (std::find(values.begin(), values.end(), v) != values.end()) {
        item.Fail("value " + NumberText(v) + " listed twice");
      }
      values.push_back(v);
    }
    if (values.empty()) list.Fail("needs at least one value");
    std::sort(values.begin(), values.end());
    if (descending) std::reverse(values.begin(), values.end());
    return values;
  };
  const std::vector<double> sparsities = strengths("sparsity", 0, 0.99, false);
  const std::vector<double> ranks = strengths("rank", 0.01, 1, true);
  // A pattern as the file names it, and what it sets in a LayerPolicy.
  struct Pattern {
    std::string name;
    SparsityPattern pattern;
    int n = 0, m = 0;
  };
  std::vector<Pattern> patterns;
  for (const auto& item : policy.Child("pattern").Items()) {
    const std::string name = item.AsString();
    int n = 0, m = 0;
    char colon = 0;
    std::istringstream in(name);
    if (name == "unstructured") {
      patterns.push_back({name, SparsityPattern::kUnstructured});
    } else if (name == "channel") {
      patterns.push_back({name, SparsityPattern::kChannel});
    } else if ((in >> n >> colon >> m) && in.eof() && colon == ':' && n >= 1 && n < m && m <= 16) {
      patterns.push_back({name, SparsityPattern::kNofM, n, m});
    } else {
      item.Fail("unknown pattern '" + name + "'; valid: unstructured, channel, N:M (1 <= N < M <= 16)");
    }
  }
  if (patterns.empty()) policy.Child("pattern").Fail("needs at least one value");
  const std::vector<Rule> rules = ReadRules(config);

  options.dimension_sizes = {static_cast<int>(w_bits.size()), static_cast<int>(a_bits.size()),
                             static_cast<int>(sparsities.size()), static_cast<int>(patterns.size()),
                             static_cast<int>(ranks.size())};
  for (size_t kind = 0; kind < kLayerKindNames.size(); ++kind) {
    auto& valid = options.policies[kind];
    for (size_t wi = 0; wi < w_bits.size(); ++wi) {
      const int w = w_bits[wi];
      for (size_t ai = 0; ai < a_bits.size(); ++ai) {
        const int a = a_bits[ai];
        for (size_t si = 0; si < sparsities.size(); ++si) {
          const double sparsity = sparsities[si];
          for (size_t p = 0; p < patterns.size(); ++p) {
            if (sparsity == 0 && p > 0) continue;  // dense: one tuple, whatever the pattern
            for (size_t ri = 0; ri < ranks.size(); ++ri) {
              const double rank = ranks[ri];
              PolicyChoice choice;
              choice.pattern = patterns[p].name;
              choice.position = {static_cast<int>(wi), static_cast<int>(ai), static_cast<int>(si),
                                 sparsity > 0 ? static_cast<int>(p) : -1, static_cast<int>(ri)};
              LayerPolicy& lp = choice.policy;
              lp.w_bits = w;
              lp.a_bits = a;
              lp.sparsity = sparsity;
              lp.rank_ratio = rank;
              if (sparsity > 0) {
                lp.pattern = patterns[p].pattern;
                lp.n_of_m_n = patterns[p].n;
                lp.n_of_m_m = patterns[p].m;
              }
              const std::map<std::string, std::string> values = {
                  {"layer", kLayerKindNames[kind]},  {"w_bits", NumberText(w)},
                  {"a_bits", NumberText(a)},         {"sparsity", NumberText(sparsity)},
                  {"pattern", sparsity > 0 ? choice.pattern : "none"}, {"rank", NumberText(rank)}};
              const bool allowed = std::all_of(rules.begin(), rules.end(), [&](const Rule& r) {
                return !Matches(r.when, values) || Matches(r.then, values);
              });
              if (!allowed) continue;
              choice.name = ChoiceName(lp, choice.pattern);
              valid.push_back(std::move(choice));
            }
          }
        }
      }
    }
    if (valid.empty()) {
      const ConfigNode where = config.Has("rules") ? config.Child("rules") : policy;
      where.Fail("the rules leave no valid policy for " + kLayerKindNames[kind] +
                 " layers, so the space is empty");
    }
  }
}

}  // namespace

std::unique_ptr<SearchSpace> MakeFmnistSpace(const ConfigNode& config) {
  config.ExpectKeys({"kind", "name", "classes", "stem_widths", "stages", "kernels", "expansions",
                     "policy", "rules"});
  FmnistSpace::Options options;
  options.name = config.String("name", "fmnist");
  options.classes = static_cast<int>(config.Int("classes", 2, 1000, 10));
  options.stem_widths = PositiveInts(config.Child("stem_widths"), 1024);
  const auto stages = config.Child("stages").Items();
  if (stages.size() != kStages) {
    config.Child("stages").Fail("expected 3 stages (resolution 28, 14, 7), got " +
                                std::to_string(stages.size()));
  }
  for (int s = 0; s < kStages; ++s) {
    stages[s].ExpectKeys({"depths", "widths"});
    options.stages[s].depths = PositiveInts(stages[s].Child("depths"), kMaxDepth);
    options.stages[s].widths = PositiveInts(stages[s].Child("widths"), 1024);
  }
  options.kernels = PositiveInts(config.Child("kernels"), 7);
  for (int k : options.kernels) {
    if (k % 2 == 0) config.Child("kernels").Fail("kernels must be odd; got " + std::to_string(k));
  }
  options.expansions = PositiveInts(config.Child("expansions"), 8);
  ReadPolicies(config, options);
  return std::make_unique<FmnistSpace>(std::move(options));
}

}  // namespace hwnas
