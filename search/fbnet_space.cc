// The FBNet space as HW-NAS-Bench uses it (data/hw-nas-bench/fbnet_macro.txt): a fixed macro
// network of 7 stages whose 22 searchable layers each pick one of 9 blocks, for CIFAR-100 or
// ImageNet. Every block expands to its real layers (so MACs and parameters are real) and to one
// LayerGroup keyed by HW-NAS-Bench's op key, so a `lut` device sums exactly the 26 entries
// HW-NAS-Bench sums: stem, 22 blocks, header, and the pool and classifier, whose per-layer
// signatures already are HW-NAS-Bench's keys.
//
// The canonical string lists the blocks stage by stage, '-' between the layers of a stage and
// '|' between stages (stages of 1, 4, 4, 4, 4, 4, 1 layers):
//   k3_e1|k3_e1-k3_e1-k3_e1-k3_e1|k3_e1-k3_e1-k3_e1-k3_e1|...|k3_e1
#include <algorithm>

#include "core/errors.h"
#include "search/search_space.h"

namespace hwnas {

namespace {

struct Block {
  std::string name;
  int kernel = 0;  // depthwise kernel; 0 = Skip
  int expansion = 0;
  int groups = 0;  // of the two 1x1 convs
};

const std::vector<Block> kBlocks = {
    {"k3_e1", 3, 1, 1}, {"k3_e1_g2", 3, 1, 2}, {"k3_e3", 3, 3, 1}, {"k3_e6", 3, 6, 1},
    {"k5_e1", 5, 1, 1}, {"k5_e1_g2", 5, 1, 2}, {"k5_e3", 5, 3, 1}, {"k5_e6", 5, 6, 1},
    {"skip", 0, 0, 0},
};

constexpr int kStageLayers[] = {1, 4, 4, 4, 4, 4, 1};
constexpr int kStageChannels[] = {16, 24, 32, 64, 112, 184, 352};
constexpr int kStages = std::size(kStageLayers);
constexpr int kLayers = 22;
constexpr int kInputChannels = 3;
constexpr int kStemChannels = 16;

// What differs between HW-NAS-Bench's two FBNet networks.
struct Macro {
  std::string dataset;
  int input_size;
  int stem_stride;
  int stage_strides[kStages];
  int header_channels;
  int classes;
};

const std::vector<Macro> kMacros = {
    {"cifar100", 32, 1, {1, 1, 2, 2, 1, 2, 1}, 1504, 100},
    {"imagenet", 224, 2, {1, 2, 2, 2, 1, 2, 1}, 1984, 1000},
};

// HW-NAS-Bench's padding, ceil((k - s) / 2), in integers (k >= s - 1 for every conv here).
int Padding(int kernel, int stride) { return (kernel - stride + 1) / 2; }

class FbnetSpace : public SearchSpace {
 public:
  FbnetSpace(const Macro& macro, const std::vector<std::string>& blocks)
      : SearchSpace("fbnet-" + macro.dataset, MakeKnobs(blocks)), macro_(macro) {
    for (const auto& name : blocks) {
      blocks_.push_back(*std::find_if(kBlocks.begin(), kBlocks.end(),
                                      [&](const Block& block) { return block.name == name; }));
    }
  }

  std::string Format(const Candidate& candidate) const override {
    HWNAS_CHECK(candidate.choices.size() == kLayers);
    std::string text;
    int k = 0;
    for (int stage = 0; stage < kStages; ++stage) {
      if (stage > 0) text += '|';
      for (int i = 0; i < kStageLayers[stage]; ++i, ++k) {
        if (i > 0) text += '-';
        text += knobs()[k].choices[candidate.choices[k]];
      }
    }
    return text;
  }

  Candidate Parse(std::string_view text) const override {
    auto fail = [&](const std::string& why) -> Candidate {
      throw ConfigError("fbnet architecture '" + std::string(text) + "': " + why +
                        "; expected 22 blocks in stages of 1, 4, 4, 4, 4, 4, 1, '-' between the "
                        "blocks of a stage and '|' between stages, each block one of " +
                        JoinNames(knobs()[0].choices));
    };
    Candidate candidate;
    size_t pos = 0;
    int k = 0;
    for (int stage = 0; stage < kStages; ++stage) {
      for (int i = 0; i < kStageLayers[stage]; ++i, ++k) {
        const size_t end = std::min(text.find_first_of("-|", pos), text.size());
        const std::string_view name = text.substr(pos, end - pos);
        const auto& choices = knobs()[k].choices;
        const auto it = std::find(choices.begin(), choices.end(), name);
        if (it == choices.end()) {
          return fail("layer " + std::to_string(k) + ": unknown block '" + std::string(name) + "'");
        }
        candidate.choices.push_back(static_cast<int>(it - choices.begin()));
        const bool last_of_stage = i + 1 == kStageLayers[stage];
        const bool last = last_of_stage && stage + 1 == kStages;
        const char expected = last_of_stage ? '|' : '-';
        if (last ? end != text.size() : end == text.size() || text[end] != expected) {
          return fail(last ? "unexpected text after the last block"
                           : "expected '" + std::string(1, expected) + "' after layer " +
                                 std::to_string(k));
        }
        pos = end + 1;
      }
    }
    return candidate;
  }

  NetworkSpec BuildNetwork(const Candidate& candidate) const override {
    NetworkSpec spec;
    spec.in_channels = kInputChannels;
    spec.in_size = macro_.input_size;
    spec.classes = macro_.classes;
    auto& layers = spec.layers;
    // Each helper appends layers at spatial size `size` and returns the size after them.
    auto conv = [&](int cin, int cout, int kernel, int stride, int groups, int size) {
      layers.push_back(
          {LayerOp::kConv, cin, cout, kernel, stride, groups, Padding(kernel, stride), size, {}});
      return layers.back().HOut();
    };
    auto simple = [&](LayerOp op, int c, int size) {
      layers.push_back({op, c, c, 1, 1, 1, 0, size, {}});
    };
    auto group = [&](std::string signature, int first) {
      spec.groups.push_back({std::move(signature), first, static_cast<int>(layers.size()) - first});
    };
    // ConvNorm and a projecting Skip: conv (no bias) -> BN -> ReLU.
    auto conv_bn_relu = [&](int cin, int cout, int kernel, int stride, int size) {
      const int out = conv(cin, cout, kernel, stride, 1, size);
      simple(LayerOp::kBatchNorm, cout, out);
      simple(LayerOp::kRelu, cout, out);
      return out;
    };
    auto conv_norm = [&](int cin, int cout, int kernel, int stride, int size) {
      const int first = static_cast<int>(layers.size());
      const int out = conv_bn_relu(cin, cout, kernel, stride, size);
      group(LayerSignature(layers[first], "ConvNorm"), first);
      return out;
    };

    int size = conv_norm(kInputChannels, kStemChannels, 3, macro_.stem_stride, macro_.input_size);
    int cin = kStemChannels;
    int k = 0;
    for (int stage = 0; stage < kStages; ++stage) {
      const int cout = kStageChannels[stage];
      for (int i = 0; i < kStageLayers[stage]; ++i, ++k) {
        const int stride = i == 0 ? macro_.stage_strides[stage] : 1;
        const Block& block = BlockOf(candidate, k);
        const int first = static_cast<int>(layers.size());
        const std::string shape = SignatureField("H", size) + SignatureField("W", size) +
                                  SignatureField("Cin", cin) + SignatureField("Cout", cout);
        const bool identity = stride == 1 && cin == cout;
        int out = size;
        if (block.kernel == 0) {
          // An identity Skip has no layers but its own table entry.
          if (!identity) out = conv_bn_relu(cin, cout, 1, stride, size);
          group("Skip" + shape + SignatureField("stride", stride), first);
        } else {
          // The channel shuffle between the first 1x1 and the depthwise conv of a grouped block
          // only permutes channels: no layer, no MACs.
          const int mid = cin * block.expansion;
          conv(cin, mid, 1, 1, block.groups, size);
          simple(LayerOp::kBatchNorm, mid, size);
          simple(LayerOp::kRelu, mid, size);
          out = conv(mid, mid, block.kernel, stride, mid, size);
          simple(LayerOp::kBatchNorm, mid, out);
          simple(LayerOp::kRelu, mid, out);
          conv(mid, cout, 1, 1, block.groups, out);
          simple(LayerOp::kBatchNorm, cout, out);
          if (identity) {
            layers.push_back({LayerOp::kAdd, cout, cout, 1, 1, 1, 0, out, {}, first});
          }
          group("ConvBlock" + shape + SignatureField("exp", block.expansion) +
                    SignatureField("kernel", block.kernel) + SignatureField("stride", stride) +
                    SignatureField("group", block.groups),
                first);
        }
        size = out;
        cin = cout;
      }
    }
    const int header = macro_.header_channels;
    size = conv_norm(cin, header, 1, 1, size);
    layers.push_back({LayerOp::kGlobalAvgPool, header, header, size, 1, 1, 0, size, {}});
    layers.push_back({LayerOp::kLinear, header, macro_.classes, 1, 1, 1, 0, 1, {}});
    return spec;
  }

 private:
  static std::vector<Knob> MakeKnobs(const std::vector<std::string>& blocks) {
    std::vector<Knob> knobs;
    for (int k = 0; k < kLayers; ++k) {
      // b00..b21, the column names of data/hw-nas-bench/fbnet_cifar100_reference_archs.csv.
      knobs.push_back({(k < 10 ? "b0" : "b") + std::to_string(k), blocks});
    }
    return knobs;
  }

  const Block& BlockOf(const Candidate& candidate, int k) const {
    return blocks_[candidate.choices[k]];
  }

  Macro macro_;
  std::vector<Block> blocks_;  // in the knobs' choice order
};

}  // namespace

std::unique_ptr<SearchSpace> MakeFbnetSpace(const ConfigNode& config) {
  config.ExpectKeys({"kind", "dataset", "blocks"});
  std::vector<std::string> datasets;
  for (const auto& macro : kMacros) datasets.push_back(macro.dataset);
  const std::string dataset = config.Choice("dataset", datasets);
  std::vector<std::string> all;
  for (const auto& block : kBlocks) all.push_back(block.name);
  std::vector<std::string> blocks = all;
  if (config.Has("blocks")) {
    blocks.clear();
    for (const auto& item : config.Child("blocks").Items()) {
      const std::string name = item.AsString();
      if (std::find(all.begin(), all.end(), name) == all.end()) {
        item.Fail("unknown block '" + name + "'; valid: " + JoinNames(all));
      }
      if (std::find(blocks.begin(), blocks.end(), name) != blocks.end()) {
        item.Fail("block '" + name + "' listed twice");
      }
      blocks.push_back(name);
    }
    if (blocks.empty()) config.Child("blocks").Fail("the space needs at least one block");
  }
  const auto macro = std::find_if(kMacros.begin(), kMacros.end(),
                                  [&](const Macro& m) { return m.dataset == dataset; });
  return std::make_unique<FbnetSpace>(*macro, blocks);
}

}  // namespace hwnas
