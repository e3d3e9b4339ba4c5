#include "hwmodels/host/random_nets.h"

#include <sstream>

#include "core/rng.h"

namespace hwnas {

namespace {

template <typename T>
const T& Pick(Rng& rng, const std::vector<T>& choices) {
  return choices[rng.Below(choices.size())];
}

class NetWriter {
 public:
  NetWriter(Rng& rng, const std::vector<std::string>& dtypes) : rng_(rng), dtypes_(dtypes) {}

  std::string Conv(int cin, int cout, int k, int stride, int groups, bool relu) {
    std::ostringstream out;
    out << R"({"op": "conv", "cin": )" << cin << R"(, "cout": )" << cout << R"(, "k": )" << k
        << R"(, "stride": )" << stride << R"(, "groups": )" << groups << R"(, "act": ")"
        << (relu ? "relu" : "none") << R"(", "dtype": ")" << Pick(rng_, dtypes_) << R"("})";
    return out.str();
  }
  std::string Linear(int cin, int cout) {
    std::ostringstream out;
    out << R"({"op": "linear", "cin": )" << cin << R"(, "cout": )" << cout << R"(, "dtype": ")"
        << Pick(rng_, dtypes_) << R"("})";
    return out.str();
  }

 private:
  Rng& rng_;
  const std::vector<std::string>& dtypes_;
};

std::string RandomNet(const std::string& id, Rng& rng, const std::vector<std::string>& dtypes) {
  NetWriter w(rng, dtypes);
  const bool small = rng.Bernoulli(0.5);
  const int in_channels = small ? 1 : 3, size = small ? 28 : 64;
  std::vector<std::string> layers;
  int channels = Pick(rng, std::vector<int>{8, 16, 24, 32});
  // The larger input is halved by the stem, as MobileNetV2's first conv does.
  layers.push_back(w.Conv(in_channels, channels, 3, small ? 1 : 2, 1, true));
  const int stages = 3 + static_cast<int>(rng.Below(2));
  const std::vector<int> widths = {16, 24, 32, 48, 64, 96, 128};
  size_t width_index = rng.Below(2);
  for (int stage = 0; stage < stages; ++stage) {
    const int cout = widths[std::min(width_index, widths.size() - 1)];
    width_index += 1 + rng.Below(2);
    const int blocks = 1 + static_cast<int>(rng.Below(3));
    for (int b = 0; b < blocks; ++b) {
      const int stride = b == 0 && stage > 0 ? 2 : 1;
      const int expand = Pick(rng, std::vector<int>{1, 3, 6});
      const int k = Pick(rng, std::vector<int>{3, 5, 7});
      const int hidden = channels * expand;
      std::vector<std::string> body;
      if (expand > 1) body.push_back(w.Conv(channels, hidden, 1, 1, 1, true));
      body.push_back(w.Conv(hidden, hidden, k, stride, hidden, true));
      body.push_back(w.Conv(hidden, cout, 1, 1, 1, false));
      const bool residual = stride == 1 && channels == cout;
      std::string block = R"({"op": "block", "residual": )" +
                          std::string(residual ? "true" : "false") + R"(, "layers": [)";
      for (size_t i = 0; i < body.size(); ++i) block += (i ? ", " : "") + body[i];
      layers.push_back(block + "]}");
      channels = cout;
    }
  }
  const int head = Pick(rng, std::vector<int>{128, 192, 256});
  layers.push_back(w.Conv(channels, head, 1, 1, 1, true));
  layers.push_back(R"({"op": "gap"})");
  layers.push_back(w.Linear(head, 10));

  std::string line = R"({"net": ")" + id + R"(", "input": [)" + std::to_string(in_channels) + ", " +
                     std::to_string(size) + ", " + std::to_string(size) +
                     R"(], "classes": 10, "layers": [)";
  for (size_t i = 0; i < layers.size(); ++i) line += (i ? ", " : "") + layers[i];
  return line + "]}\n";
}

}  // namespace

std::string RandomNetsJsonl(const RandomNetsOptions& options) {
  std::string text;
  const Rng root(options.seed);
  for (int i = 0; i < options.count; ++i) {
    Rng rng = root.Fork(static_cast<uint64_t>(i));
    text += RandomNet(options.id_prefix + std::to_string(i), rng, options.dtypes);
  }
  return text;
}

}  // namespace hwnas
