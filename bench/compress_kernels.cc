// Compression kernels against PyTorch 1.13 on realistic layer sizes: per-channel 8-bit
// quantize-dequantize, the per-channel MSE clipping search, magnitude pruning to an exact 90%,
// 2:4 pruning and a rank-1/4 truncated SVD. Both sides read the same weights (written to a
// temporary folder), and each prints a figure of its result (MSE, zero count, Frobenius error)
// so the table shows they computed the same thing. Times are medians over repetitions after a
// warm-up, with the interquartile range.
#include <tbb/global_control.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/peer.h"
#include "compress/low_rank.h"
#include "compress/prune.h"
#include "compress/quantize.h"
#include "core/rng.h"

using namespace hwnas;

namespace {

struct Layer {
  const char* name;
  int rows, cols;  // Cout x (Cin*k*k)
};

// A ResNet stage's 3x3 conv, a transformer-sized linear layer, a MobileNetV2 1x1 expansion.
const Layer kLayers[] = {
    {"conv3x3 256->256", 256, 256 * 9},
    {"linear 1024->1024", 1024, 1024},
    {"conv1x1 64->384", 384, 64},
};

struct Op {
  const char* name;    // also the peer's key
  const char* figure;  // what the op reports to compare with the peer's
  int repetitions;
  // Runs the op on `w`; sets *figure when it is not null (outside the timed calls).
  std::function<void(const WeightMatrix& w, double* figure)> run;
};

const std::vector<Op>& Ops() {
  static const std::vector<Op> ops = {
      {"quant_w8_affine_per_channel", "mse", 20,
       [](const WeightMatrix& w, double* figure) {
         const QuantConfig config{.bits = 8, .granularity = QuantGranularity::kPerChannel};
         WeightMatrix x_hat(w.rows(), w.cols());
         FakeQuantizeRows(w, WeightGrids(w, config), x_hat);
         if (figure) *figure = static_cast<double>((w - x_hat).squaredNorm()) / w.size();
       }},
      {"mse_clip_w4_affine_per_channel", "mse", 5,
       [](const WeightMatrix& w, double* figure) {
         const QuantConfig config{
             .bits = 4, .granularity = QuantGranularity::kPerChannel, .clip = ClipMethod::kMse};
         WeightGrids(w, config);  // the search alone is timed
         if (figure) *figure = QuantizeWeights(w, config).report.mse();
       }},
      {"magnitude_prune_90", "zeros", 20,
       [](const WeightMatrix& w, double* figure) {
         const PruneResult result = MagnitudePrune(w, 0.9);
         if (figure) *figure = static_cast<double>(result.report.zeros);
       }},
      {"prune_2_of_4", "zeros", 20,
       [](const WeightMatrix& w, double* figure) {
         const PruneResult result = NofMPrune(w, 2, 4);
         if (figure) *figure = static_cast<double>(result.report.zeros);
       }},
      {"svd_rank_quarter", "frobenius error", 3,
       [](const WeightMatrix& w, double* figure) {
         const LowRankFactors factors = LowRankFactorizeByRatio(w, 0.25);
         if (figure) *figure = std::sqrt(factors.report.squared_error);
       }},
  };
  return ops;
}

// Gaussian weights at He scale, written raw (float32, row-major) for the peer.
WeightMatrix MakeWeights(const Layer& layer, uint64_t seed) {
  Rng rng(seed);
  WeightMatrix w(layer.rows, layer.cols);
  const double scale = std::sqrt(2.0 / layer.cols);
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    const double u = 1 - rng.Uniform();
    w.data()[i] = static_cast<float>(scale * std::sqrt(-2 * std::log(u)) *
                                     std::cos(2 * 3.141592653589793 * rng.Uniform()));
  }
  return w;
}

std::string SizeKey(const Layer& layer) {
  std::ostringstream key;
  key << layer.rows << "x" << layer.cols;
  return key.str();
}

struct Timing {
  double median = 0, q1 = 0, q3 = 0;  // milliseconds
  double figure = 0;
};

Timing Time(const Op& op, const WeightMatrix& w) {
  Timing timing;
  op.run(w, &timing.figure);  // also the warm-up
  std::vector<double> ms;
  for (int i = 0; i < op.repetitions; ++i) {
    const auto start = std::chrono::steady_clock::now();
    op.run(w, nullptr);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  // Interpolated between neighbours, as Python's statistics.quantiles(method="inclusive").
  auto quantile = [&](double q) {
    const double at = q * static_cast<double>(ms.size() - 1);
    const size_t below = static_cast<size_t>(at);
    const size_t above = std::min(below + 1, ms.size() - 1);
    return ms[below] + (ms[above] - ms[below]) * (at - static_cast<double>(below));
  };
  timing.median = quantile(0.5);
  timing.q1 = quantile(0.25);
  timing.q3 = quantile(0.75);
  return timing;
}

// The text of "key": "..." in a flat JSON text.
std::string JsonString(const std::string& json, const std::string& key) {
  std::ostringstream pattern;
  pattern << '"' << key << "\": \"";
  const size_t start = json.find(pattern.str());
  if (start == std::string::npos) return "?";
  const size_t from = start + key.size() + 5;
  return json.substr(from, json.find('"', from) - from);
}

std::string Cell(const Timing& t) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f [%.2f-%.2f]", t.median, t.q1, t.q3);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: compress_kernels [--threads N]\n");
      return 2;
    }
  }
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, threads);

  std::ostringstream command;
  command << "/usr/bin/python3 " HWNAS_SOURCE_DIR "/bench/peers/torch_compress_kernels.py"
          << " --threads " << threads << " --reps";
  for (const Op& op : Ops()) command << ' ' << op.name << '=' << op.repetitions;
  command << " --weights";
  std::ostringstream dir_name;
  dir_name << "hwnas_compress_kernels_" << ::getpid();
  const auto dir = std::filesystem::temp_directory_path() / dir_name.str();
  std::filesystem::create_directories(dir);
  std::vector<WeightMatrix> weights;
  for (const Layer& layer : kLayers) {
    weights.push_back(MakeWeights(layer, weights.size()));
    const auto path = dir / (SizeKey(layer) + ".f32");
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(weights.back().data()),
               static_cast<std::streamsize>(weights.back().size() * sizeof(float)));
    command << ' ' << path.string();
  }
  // The peer first, on its own, so that the two never share the cores.
  const std::string peer = bench::RunPeer(command.str());
  std::filesystem::remove_all(dir);

  std::printf(
      "compress_kernels: %d threads (hwnas oneTBB, torch set_num_threads), median "
      "[quartiles] ms after 1 warm-up; torch %s\n",
      threads, JsonString(peer, "torch").c_str());
  std::printf(
      "| op | size | reps | hwnas ms | torch ms | torch/hwnas | figure | hwnas | torch |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const Op& op : Ops()) {
    for (size_t l = 0; l < std::size(kLayers); ++l) {
      const Layer& layer = kLayers[l];
      const Timing hw = Time(op, weights[l]);
      std::ostringstream key;
      key << '"' << op.name << ' ' << SizeKey(layer) << '"';
      const size_t at = peer.find(key.str());
      Timing torch;
      torch.median = bench::JsonNumber(peer, "median", at);
      torch.q1 = bench::JsonNumber(peer, "q1", at);
      torch.q3 = bench::JsonNumber(peer, "q3", at);
      torch.figure = bench::JsonNumber(peer, "figure", at);
      std::printf("| %s | %s %s | %d | %s | %s | %.2f | %s | %.6g | %.6g |\n", op.name, layer.name,
                  SizeKey(layer).c_str(), op.repetitions, Cell(hw).c_str(), Cell(torch).c_str(),
                  torch.median / hw.median, op.figure, hw.figure, torch.figure);
    }
  }
  return 0;
}
