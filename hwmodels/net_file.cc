#include "hwmodels/net_file.h"

#include <fstream>

#include "core/config_node.h"
#include "core/errors.h"
#include "hwmodels/dtype.h"

namespace hwnas {

namespace {

LayerPolicy ReadPolicy(const ConfigNode& layer) {
  LayerPolicy policy;
  if (layer.Has("dtype")) {
    const std::string name = layer.String("dtype");
    const auto dtype = ParseDtype(name);
    if (!dtype || name == "mixed") {
      layer.Child("dtype").Fail("unknown dtype '" + name + "'; valid: " +
                                JoinNames(DtypeNames()));
    }
    policy = dtype->policy;
    // A float dtype names the layer's own format; the network's --dtype covers the rest.
    if (policy.w_bits == 32 && policy.a_bits == 32) policy.float_format = dtype->run_format;
  }
  policy.w_bits = static_cast<int>(layer.Int("w_bits", 1, 32, policy.w_bits));
  policy.a_bits = static_cast<int>(layer.Int("a_bits", 1, 32, policy.a_bits));
  policy.rank_ratio = layer.Double("rank", 1e-6, 1.0, policy.rank_ratio);
  if (layer.Has("pattern")) {
    const std::string pattern = layer.Choice("pattern", {"unstructured", "2:4", "1:4", "channel"});
    if (pattern == "unstructured") {
      policy.pattern = SparsityPattern::kUnstructured;
    } else if (pattern == "channel") {
      policy.pattern = SparsityPattern::kChannel;
    } else {
      policy.pattern = SparsityPattern::kNofM;
      policy.n_of_m_n = pattern[0] - '0';
      policy.n_of_m_m = 4;
    }
    const double implied = policy.pattern == SparsityPattern::kNofM
                               ? 1.0 - static_cast<double>(policy.n_of_m_n) / policy.n_of_m_m
                               : -1.0;
    policy.sparsity = layer.Double("sparsity", 0.0, 0.999, implied);
    if (implied >= 0.0 && policy.sparsity != implied) {
      layer.Child("sparsity").Fail("pattern " + pattern + " means sparsity " +
                                   std::to_string(implied));
    }
  } else if (layer.Has("sparsity")) {
    layer.Child("sparsity").Fail("give a pattern with the sparsity: unstructured, 2:4, 1:4, channel");
  }
  return policy;
}

class NetBuilder {
 public:
  explicit NetBuilder(NetworkSpec& spec) : spec_(spec), size_(spec.in_size) {}

  void Add(const ConfigNode& layer) {
    const std::string op = layer.Choice("op", {"conv", "block", "gap", "linear"});
    if (op == "conv") {
      AddConv(layer);
    } else if (op == "block") {
      layer.ExpectKeys({"op", "residual", "layers"});
      const int first = static_cast<int>(spec_.layers.size());
      const int channels_in = channels_;
      for (const auto& conv : layer.Child("layers").Items()) {
        if (conv.Choice("op", {"conv"}) == "conv") AddConv(conv);
      }
      if (layer.Bool("residual", false)) {
        if (channels_ != channels_in || first == static_cast<int>(spec_.layers.size()) ||
            spec_.layers[first].h_in != size_) {
          layer.Child("residual").Fail("a residual block must keep the channels and size");
        }
        Layer add{LayerOp::kAdd, channels_, channels_, 1, 1, 1, 0, size_, {}};
        add.residual_from = first;
        spec_.layers.push_back(add);
      }
    } else if (op == "gap") {
      layer.ExpectKeys({"op"});
      spec_.layers.push_back(
          {LayerOp::kGlobalAvgPool, channels_, channels_, size_, 1, 1, 0, size_, {}});
      size_ = 1;
    } else {
      layer.ExpectKeys({"op", "cin", "cout", "act", "dtype", "w_bits", "a_bits", "sparsity",
                        "pattern", "rank"});
      Layer linear{LayerOp::kLinear, In(layer), Out(layer), 1, 1, 1, 0, 1, ReadPolicy(layer)};
      if (size_ != 1) layer.Fail("linear needs a 1x1 input; add a gap layer first");
      spec_.layers.push_back(linear);
      if (layer.Choice("act", {"relu", "none"}, "none") == "relu") {
        spec_.layers.push_back({LayerOp::kRelu, channels_, channels_, 1, 1, 1, 0, 1, {}});
      }
    }
  }

 private:
  int In(const ConfigNode& layer) const {
    const int cin = static_cast<int>(layer.Int("cin", 1, 1 << 16));
    if (cin != channels_) {
      layer.Child("cin").Fail("the input has " + std::to_string(channels_) + " channels, not " +
                              std::to_string(cin));
    }
    return cin;
  }
  int Out(const ConfigNode& layer) {
    channels_ = static_cast<int>(layer.Int("cout", 1, 1 << 16));
    return channels_;
  }

  void AddConv(const ConfigNode& layer) {
    layer.ExpectKeys({"op", "cin", "cout", "k", "stride", "groups", "act", "dtype", "w_bits",
                      "a_bits", "sparsity", "pattern", "rank"});
    Layer conv;
    conv.op = LayerOp::kConv;
    conv.cin = In(layer);
    conv.kernel = static_cast<int>(layer.Int("k", 1, 15));
    conv.stride = static_cast<int>(layer.Int("stride", 1, 8));
    conv.groups = static_cast<int>(layer.Int("groups", 1, conv.cin, 1));
    conv.padding = conv.kernel / 2;
    conv.h_in = size_;
    conv.cout = Out(layer);
    if (conv.cin % conv.groups != 0 || conv.cout % conv.groups != 0) {
      layer.Child("groups").Fail("groups must divide cin and cout");
    }
    conv.policy = ReadPolicy(layer);
    spec_.layers.push_back(conv);
    size_ = conv.HOut();
    spec_.layers.push_back({LayerOp::kBatchNorm, channels_, channels_, 1, 1, 1, 0, size_, {}});
    if (layer.Choice("act", {"relu", "none"}, "none") == "relu") {
      spec_.layers.push_back({LayerOp::kRelu, channels_, channels_, 1, 1, 1, 0, size_, {}});
    }
  }

  NetworkSpec& spec_;
  int size_;
  int channels_ = spec_.in_channels;
};

}  // namespace

std::vector<NetworkSpec> LoadNetsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open file");
  std::vector<NetworkSpec> nets;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // Leading newlines put the parser's line numbers on the file's lines.
    const ConfigNode net =
        ConfigNode::LoadString(std::string(line_number - 1, '\n') + line, path);
    net.ExpectKeys({"net", "input", "classes", "layers"});
    NetworkSpec spec;
    spec.key = net.String("net");
    const auto input = net.Child("input").Items();
    if (input.size() != 3) net.Child("input").Fail("expected [channels, height, width]");
    spec.in_channels = static_cast<int>(input[0].AsInt(1, 1 << 16));
    spec.in_size = static_cast<int>(input[1].AsInt(1, 1 << 16));
    if (input[2].AsInt(1, 1 << 16) != spec.in_size) {
      net.Child("input").Fail("height and width must be equal");
    }
    spec.classes = static_cast<int>(net.Int("classes", 1, 1 << 20));
    NetBuilder builder(spec);
    for (const auto& layer : net.Child("layers").Items()) builder.Add(layer);
    if (spec.layers.empty()) net.Child("layers").Fail("a network needs at least one layer");
    for (const auto& other : nets) {
      if (other.key == spec.key) net.Child("net").Fail("duplicate net id '" + spec.key + "'");
    }
    nets.push_back(std::move(spec));
  }
  if (nets.empty()) throw IoError(path + ": no networks in the file");
  return nets;
}

}  // namespace hwnas
