// What int8 and bf16 buy on this CPU: conv layers of ResNet and MobileNetV2 sizes at batch 1,
// timed as the host device times them (hwmodels/host/): oneDNN int8 (u8/s8 x s8, batch norm
// folded, ReLU fused), oneDNN bf16 (same fusion, where the CPU has AVX512-BF16), oneDNN fp32
// with the same fusion, and the nn engine's fp32 conv + batch norm + ReLU. Each is timed in its
// own layout, without conversions; the engines alternate over rounds and the medians are
// printed.
//
// usage: int8_speedup [--threads N] [--reps N] [--rounds N]
#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/errors.h"
#include "hwmodels/host/host_measure.h"
#include "hwmodels/host/onednn_int8.h"

using namespace hwnas;

namespace {

struct ConvCase {
  const char* name;
  int cin, cout, k, stride, groups, size;
};

const std::vector<ConvCase> kCases = {
    {"ResNet-18 conv3x3 64->64 @56", 64, 64, 3, 1, 1, 56},
    {"ResNet-18 conv3x3 128->128 @28", 128, 128, 3, 1, 1, 28},
    {"ResNet-18 conv3x3 256->256 @14", 256, 256, 3, 1, 1, 14},
    {"ResNet-50 conv1x1 64->256 @56", 64, 256, 1, 1, 1, 56},
    {"ResNet-50 conv1x1 512->128 @28", 512, 128, 1, 1, 1, 28},
    {"MobileNetV2 expand 1x1 24->144 @56", 24, 144, 1, 1, 1, 56},
    {"MobileNetV2 dw3x3 144 s2 @56", 144, 144, 3, 2, 144, 56},
    {"MobileNetV2 project 1x1 144->32 @28", 144, 32, 1, 1, 1, 28},
    {"MobileNetV2 dw3x3 192 @28", 192, 192, 3, 1, 192, 28},
    {"MobileNetV2 expand 1x1 96->576 @14", 96, 576, 1, 1, 1, 14},
    {"MobileNetV2 dw3x3 576 @14", 576, 576, 3, 1, 576, 14},
};

struct Options {
  int threads = 1;
  int reps = 50;
  int rounds = 3;
};

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc)
      o.threads = std::stoi(argv[++i]);
    else if (arg == "--reps" && i + 1 < argc)
      o.reps = std::stoi(argv[++i]);
    else if (arg == "--rounds" && i + 1 < argc)
      o.rounds = std::stoi(argv[++i]);
    else
      throw std::runtime_error("unknown flag '" + arg +
                               "'; valid: --threads N --reps N --rounds N");
  }
  return o;
}

NetworkSpec ConvSpec(const ConvCase& c, const LayerPolicy& policy) {
  NetworkSpec spec;
  spec.in_channels = c.cin;
  spec.in_size = c.size;
  const Layer conv{LayerOp::kConv, c.cin, c.cout, c.k, c.stride, c.groups, c.k / 2, c.size,
                   policy};
  spec.layers.push_back(conv);
  const int out = conv.HOut();
  spec.layers.push_back({LayerOp::kBatchNorm, c.cout, c.cout, 1, 1, 1, 0, out, {}});
  spec.layers.push_back({LayerOp::kRelu, c.cout, c.cout, 1, 1, 1, 0, out, {}});
  return spec;
}

// oneDNN's fp32 convolution with a bias (the folded batch norm) and a fused ReLU, in the
// layouts it picks for itself.
class OneDnnFp32Conv {
 public:
  explicit OneDnnFp32Conv(const ConvCase& c) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const int out = (c.size + 2 * (c.k / 2) - c.k) / c.stride + 1;
    const dnnl::memory::dims weights =
        c.groups == 1 ? dnnl::memory::dims{c.cout, c.cin, c.k, c.k}
                      : dnnl::memory::dims{c.groups, c.cout / c.groups, c.cin / c.groups, c.k, c.k};
    dnnl::post_ops relu;
    relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(relu);
    const int pad = c.k / 2;
    const dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
            {{1, c.cin, c.size, c.size}, dt::f32, tag::any}, {weights, dt::f32, tag::any},
            {{c.cout}, dt::f32, tag::a}, {{1, c.cout, out, out}, dt::f32, tag::any},
            {c.stride, c.stride}, {pad, pad}, {pad, pad}),
        attr, CpuEngine());
    implementation_ = pd.impl_info_str();
    conv_ = dnnl::convolution_forward(pd);
    src_ = dnnl::memory(pd.src_desc(), CpuEngine());
    weights_ = dnnl::memory(pd.weights_desc(), CpuEngine());
    bias_ = dnnl::memory(pd.bias_desc(), CpuEngine());
    dst_ = dnnl::memory(pd.dst_desc(), CpuEngine());
    // Small values: no denormals, no overflow; the time does not depend on them otherwise.
    for (auto* m : {&src_, &weights_, &bias_}) {
      float* p = static_cast<float*>(m->get_data_handle());
      const size_t n = m->get_desc().get_size() / sizeof(float);
      for (size_t i = 0; i < n; ++i) p[i] = 0.01f * static_cast<float>(i % 97) - 0.48f;
    }
  }
  void Execute() {
    conv_.execute(CpuStream(), {{DNNL_ARG_SRC, src_},
                                {DNNL_ARG_WEIGHTS, weights_},
                                {DNNL_ARG_BIAS, bias_},
                                {DNNL_ARG_DST, dst_}});
    CpuStream().wait();
  }
  const std::string& implementation() const { return implementation_; }

 private:
  dnnl::convolution_forward conv_;
  dnnl::memory src_, weights_, bias_, dst_;
  std::string implementation_;
};

// The conv step of a HostNetwork: the only step of the fp32 spec, the one after the input's
// quantization in the int8 spec.
size_t ConvStep(const HostNetwork& network) {
  const auto& steps = network.steps();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].kind == "conv") return i;
  }
  throw std::runtime_error("no conv step");
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  HostThreads threads(options.threads);
  const TimingOptions timing{.warmups = 5, .reps = options.reps};
  std::printf(
      "int8_speedup: batch 1, %d thread(s), %s, median of %d alternating rounds of %d "
      "timed runs\n",
      options.threads, OneDnnVersion().c_str(), options.rounds, options.reps);
  std::printf(
      "| layer | MMAC | nn fp32 us | oneDNN fp32 us | oneDNN int8 us | oneDNN bf16 us | "
      "int8 vs oneDNN fp32 | bf16 vs oneDNN fp32 | int8 vs nn fp32 | oneDNN kernels "
      "(fp32 / int8 / bf16) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  LayerPolicy int8_policy, bf16_policy;
  int8_policy.w_bits = int8_policy.a_bits = 8;
  bf16_policy.float_format = FloatFormat::kBf16;
  std::string bf16_missing;
  for (const auto& c : kCases) {
    HostNetwork own(ConvSpec(c, {}), 1, 0), int8(ConvSpec(c, int8_policy), 1, 0);
    // Absent where the CPU has no native bf16: the column says so.
    std::unique_ptr<HostNetwork> bf16;
    try {
      bf16 = std::make_unique<HostNetwork>(ConvSpec(c, bf16_policy), 1, 0);
    } catch (const UnsupportedError& e) {
      bf16_missing = e.what();
    }
    OneDnnFp32Conv onednn(c);
    std::vector<double> own_us, onednn_us, int8_us, bf16_us;
    for (int round = 0; round < options.rounds; ++round) {
      own_us.push_back(own.TimeStep(ConvStep(own), timing).median_us);
      onednn_us.push_back(TimeRepeated(timing, [&] { onednn.Execute(); }).median_us);
      int8_us.push_back(int8.TimeStep(ConvStep(int8), timing).median_us);
      if (bf16) bf16_us.push_back(bf16->TimeStep(ConvStep(*bf16), timing).median_us);
    }
    const double a = Median(own_us), b = Median(onednn_us), q = Median(int8_us);
    const Layer layer = ConvSpec(c, {}).layers[0];
    char bf16_time[32] = "n/a", bf16_ratio[32] = "n/a";
    if (bf16) {
      const double h = Median(bf16_us);
      std::snprintf(bf16_time, sizeof bf16_time, "%.1f", h);
      std::snprintf(bf16_ratio, sizeof bf16_ratio, "%.2fx", b / h);
    }
    std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %s | %.2fx | %s | %.2fx | %s / %s / %s |\n",
                c.name, layer.Macs() / 1e6, a, b, q, bf16_time, b / q, bf16_ratio, a / q,
                onednn.implementation().c_str(),
                int8.steps()[ConvStep(int8)].implementation.c_str(),
                bf16 ? bf16->steps()[ConvStep(*bf16)].implementation.c_str() : "none");
  }
  if (!bf16_missing.empty()) std::printf("bf16: %s\n", bf16_missing.c_str());
  return 0;
}
