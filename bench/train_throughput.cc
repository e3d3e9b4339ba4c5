// Training throughput of the nn engine against PyTorch 1.13 on the same CPU, threads and data:
// the reference small-image network (conv3x3 1->16, 16->32 s2, 32->64 s2, each with batch norm
// and ReLU, global average pooling, linear 64->10), batch 128, Fashion-MNIST, 2 threads.
//
// usage: train_throughput [--threads N] [--steps N] [--rounds N] [--skip-epoch]
#include <immintrin.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench/peer.h"
#include "core/rng.h"
#include "evaluator/data_splits.h"
#include "evaluator/fashion_mnist.h"
#include "evaluator/trainer.h"
#include "nn/network.h"
#include "nn/training_step.h"

using namespace hwnas;

namespace {

constexpr int kBatch = 128;
constexpr int kWarmupSteps = 5;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Multiply-adds of conv and linear layers per image: the work a training step does three times
// (forward, input gradient, weight gradient).
int64_t GemmMacs(const NetworkSpec& spec) {
  int64_t macs = 0;
  for (const auto& l : spec.layers) {
    if (l.op == LayerOp::kConv || l.op == LayerOp::kLinear) macs += l.Macs();
  }
  return macs;
}

// This CPU's peak fp32 rate: independent FMA chains on every thread, long enough to hide the
// FMA latency.
double PeakGflops(int threads) {
  constexpr int64_t kIterations = 200'000'000 / 16;
  auto run = [] {
#ifdef __AVX512F__
    __m512 acc[12];
    for (auto& a : acc) a = _mm512_set1_ps(0.0f);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int64_t i = 0; i < kIterations; ++i) {
      for (auto& a : acc) a = _mm512_fmadd_ps(a, x, y);
    }
    float sink = 0;
    for (auto& a : acc) sink += _mm512_reduce_add_ps(a);
    return static_cast<double>(sink) * 0 + 12.0 * 16 * 2 * kIterations;
#else
    __m256 acc[12];
    for (auto& a : acc) a = _mm256_set1_ps(0.0f);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int64_t i = 0; i < kIterations; ++i) {
      for (auto& a : acc) a = _mm256_fmadd_ps(a, x, y);
    }
    float lanes[8], sink = 0;
    for (auto& a : acc) _mm256_storeu_ps(lanes, a), sink += lanes[0];
    return static_cast<double>(sink) * 0 + 12.0 * 8 * 2 * kIterations;
#endif
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  std::vector<double> flops(threads);
  for (int t = 0; t < threads; ++t) workers.emplace_back([&, t] { flops[t] = run(); });
  for (auto& w : workers) w.join();
  double total = 0;
  for (double f : flops) total += f;
  return total / Seconds(start) / 1e9;
}

struct Options {
  int threads = 2;
  int steps = 40;
  int rounds = 3;  // throughput measured this many times, alternating with the peer
  bool epoch = true;
};

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) o.threads = std::stoi(argv[++i]);
    else if (arg == "--steps" && i + 1 < argc) o.steps = std::stoi(argv[++i]);
    else if (arg == "--rounds" && i + 1 < argc) o.rounds = std::stoi(argv[++i]);
    else if (arg == "--skip-epoch") o.epoch = false;
    else throw std::runtime_error("unknown flag '" + arg + "'; valid: --threads N --steps N --rounds N --skip-epoch");
  }
  return o;
}

struct Rates {
  double train = 0, inference = 0, distill = 0, epoch_accuracy = 0, epoch_seconds = 0;
};

Rates HwnasThroughput(const Dataset& train, const Options& options) {
  Rates rates;
  const Tensor images = ToTensor(train.images.topRows(kBatch), train.shape);
  const std::span<const int> labels(train.labels.data(), kBatch);

  auto timed = [&](auto&& step) {
    for (int i = 0; i < kWarmupSteps; ++i) step();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.steps; ++i) step();
    return options.steps * kBatch / Seconds(start);
  };

  auto student = BuildNetwork(SmallImageReferenceSpec(1), 0);
  std::vector<NamedParameter> parameters;
  student->CollectParameters("", parameters);
  auto sgd = MakeSgd(parameters, {.learning_rate = 0.01, .momentum = 0.9});
  rates.train = timed([&] { TrainStep(*student, *sgd, images, labels); });
  rates.inference = timed([&] { student->Forward(images, Mode::kEval); });
  auto teacher = BuildNetwork(SmallImageReferenceSpec(4), 1);
  rates.distill = timed([&] { DistillStep(*student, *teacher, *sgd, images, labels, {}); });
  return rates;
}

void HwnasEpoch(const DataSplits& data, Rates& rates) {
  auto fresh = BuildNetwork(SmallImageReferenceSpec(1), 0);
  const auto start = std::chrono::steady_clock::now();
  TrainOptions options;
  options.epochs = 1;
  options.batch_size = kBatch;
  options.peak_learning_rate = 0.1;
  options.weight_decay = 5e-4;
  Train(*fresh, data.train(), options);
  rates.epoch_accuracy = 100 * Accuracy(*fresh, data.final_test());
  rates.epoch_seconds = Seconds(start);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The median over rounds of each throughput.
Rates MedianRates(const std::vector<Rates>& rounds) {
  std::vector<double> train, inference, distill;
  for (const auto& r : rounds) {
    train.push_back(r.train);
    inference.push_back(r.inference);
    distill.push_back(r.distill);
  }
  return {Median(train), Median(inference), Median(distill), 0, 0};
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, options.threads);
  // The whole 60,000 training images for the epoch (validation 0 would be refused: keep 1).
  const DataSplits data(LoadFashionMnist(), {.validation_size = 1, .seed = 0});

  // Machines are shared: alternate the engines, round by round, and report medians.
  const std::string peer_command =
      "/usr/bin/python3 " HWNAS_SOURCE_DIR "/bench/peers/torch_train_throughput.py --threads " +
      std::to_string(options.threads) + " --steps " + std::to_string(options.steps);
  std::vector<Rates> hw_rounds, torch_rounds;
  for (int round = 0; round < options.rounds; ++round) {
    const std::string peer = bench::RunPeer(peer_command + " --skip-epoch");
    torch_rounds.push_back({bench::JsonNumber(peer, "train_images_per_s"),
                            bench::JsonNumber(peer, "inference_images_per_s"),
                            bench::JsonNumber(peer, "distill_images_per_s"), 0, 0});
    hw_rounds.push_back(HwnasThroughput(data.train(), options));
  }
  Rates hw = MedianRates(hw_rounds);
  Rates torch = MedianRates(torch_rounds);
  if (options.epoch) {
    const std::string peer = bench::RunPeer(peer_command + " --skip-throughput");
    torch.epoch_accuracy = bench::JsonNumber(peer, "epoch_test_accuracy");
    torch.epoch_seconds = bench::JsonNumber(peer, "epoch_seconds");
    HwnasEpoch(data, hw);
  }
  const double peak = PeakGflops(options.threads);
  const double train_flops = 3.0 * 2 * GemmMacs(SmallImageReferenceSpec(1));

  std::printf("train_throughput: reference net on Fashion-MNIST, batch %d, %d threads, %d timed steps "
              "after %d warm-up, median of %d alternating rounds\n", kBatch, options.threads, options.steps,
              kWarmupSteps, options.rounds);
  std::printf("| measure | hwnas | pytorch %s | hwnas / pytorch |\n", "1.13");
  std::printf("|---|---|---|---|\n");
  std::printf("| training images/s | %.0f | %.0f | %.2fx |\n", hw.train, torch.train, hw.train / torch.train);
  std::printf("| inference images/s | %.0f | %.0f | %.2fx |\n", hw.inference, torch.inference,
              hw.inference / torch.inference);
  std::printf("| distillation step images/s (4x teacher fwd + student step) | %.0f | %.0f | %.2fx |\n",
              hw.distill, torch.distill, hw.distill / torch.distill);
  if (options.epoch) {
    std::printf("| 1-epoch test accuracy %% (SGD 0.9, one-cycle peak 0.1) | %.2f | %.2f | |\n",
                hw.epoch_accuracy, torch.epoch_accuracy);
    std::printf("| 1-epoch wall time s (train + test) | %.1f | %.1f | %.2fx faster |\n", hw.epoch_seconds,
                torch.epoch_seconds, torch.epoch_seconds / hw.epoch_seconds);
  }
  std::printf("| training GFLOP/s (conv+linear, 3x forward) | %.1f | %.1f | |\n",
              hw.train * train_flops / 1e9, torch.train * train_flops / 1e9);
  std::printf("| share of this CPU's peak (%.0f GFLOP/s, %d threads, FMA loop) | %.1f%% | %.1f%% | |\n",
              peak, options.threads, 100 * hw.train * train_flops / 1e9 / peak,
              100 * torch.train * train_flops / 1e9 / peak);
  return 0;
}
