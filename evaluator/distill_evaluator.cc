// Evaluator kind `distill`: accuracy from a short distillation fine-tune of the candidate,
// starting from weights it inherits from a supernet.
//
// Built once per run (and cached on disk, keyed by everything that determines them):
//   teacher   the space's largest network, trained on the labels with augmentation;
//   supernet  the teacher's weights, channels ranked by importance, trained by the sandwich
//             rule with in-place distillation.
// With `init: scratch` a candidate starts from seeded weights instead (the reference of
// `hwnas fidelity`).
// Per candidate: inherit, apply the policy (fake-quantize, prune, factorise), fine-tune K steps
// on the teacher's precomputed logits (quantization-aware, masks kept), recalibrate batch norm,
// and report validation accuracy with what compression did to every layer.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "compress/low_rank.h"
#include "core/errors.h"
#include "core/stable_hash.h"
#include "evaluator/batch_iterator.h"
#include "evaluator/data_splits.h"
#include "evaluator/evaluator.h"
#include "evaluator/fashion_mnist.h"
#include "evaluator/supernet.h"
#include "evaluator/trainer.h"
#include "nn/loss.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"
#include "nn/weight_file.h"

namespace hwnas {

namespace {

// Bumped whenever training code changes what a cached teacher or supernet would be.
constexpr int kCacheFormat = 1;

std::string Percent(double fraction) {
  char text[16];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * fraction);
  return text;
}

// Fine-tunes clip the gradient to this L2 norm. Healthy ones, inherited or from scratch, were
// measured below 13; a batch-norm channel of near-zero variance (a pruned channel feeding a kept
// one) can multiply the gradient a million-fold in one step and diverge the training.
constexpr double kMaxGradientNorm = 20;

struct ProxyOptions {
  int64_t steps = 100;
  int epochs = 0;  // when set, steps = epochs x training images / batch size
  int64_t batch_size = 64;
  double peak_learning_rate = 0.01;
  int bn_batches = 10;  // training-mode forwards that recalibrate batch norm
};

struct DistillConfig {
  std::string data_dir;
  std::string cache_dir;
  int64_t train_images = 0;       // 0 = every training image (after the validation split)
  int64_t validation_images = 0;  // of the validation split used to rank candidates; 0 = all
  SplitOptions split;
  TrainOptions teacher;
  SandwichOptions supernet;
  ProxyOptions proxy;
  int64_t final_steps = 1000;
  int64_t most_accurate_final_steps = 1000;  // for each device's most accurate front member
  DistillOptions distill;
  bool inherited_accuracy = false;  // also report the accuracy before the fine-tune
  bool from_scratch = false;  // `init: scratch`: seeded weights instead of the supernet's
};

std::string DefaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/hwnas";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/hwnas";
  return ".hwnas-cache";
}

DistillConfig ReadConfig(const ConfigNode& config) {
  config.ExpectKeys({"kind", "data", "cache", "train_images", "validation_images", "split",
                     "teacher", "supernet", "proxy", "final", "distill", "inherited_accuracy",
                     "init"});
  DistillConfig c;
  c.data_dir = config.Has("data") ? config.Path("data") : kFashionMnistDir;
  c.cache_dir = config.Has("cache") ? config.Path("cache") : DefaultCacheDir();
  c.train_images = config.Int("train_images", 0, 60000, 0);
  c.validation_images = config.Int("validation_images", 0, 60000, 0);
  if (config.Has("split")) {
    const ConfigNode split = config.Child("split");
    split.ExpectKeys({"validation", "seed"});
    c.split.validation_size = split.Int("validation", 100, 30000, 10000);
    c.split.seed = static_cast<uint64_t>(split.Int("seed", 0, INT64_MAX, 0));
  }
  if (config.Has("teacher")) {
    const ConfigNode t = config.Child("teacher");
    t.ExpectKeys({"epochs", "batch", "learning_rate", "weight_decay", "seed"});
    c.teacher.epochs = static_cast<int>(t.Int("epochs", 1, 1000, 10));
    c.teacher.batch_size = t.Int("batch", 1, 4096, 128);
    c.teacher.peak_learning_rate = t.Double("learning_rate", 1e-6, 10, 0.1);
    c.teacher.weight_decay = t.Double("weight_decay", 0, 1, 5e-4);
    c.teacher.seed = static_cast<uint64_t>(t.Int("seed", 0, INT64_MAX, 0));
  } else {
    c.teacher.epochs = 10;
  }
  c.teacher.augment = {.crop_padding = 2, .horizontal_flip = true};
  if (config.Has("supernet")) {
    const ConfigNode s = config.Child("supernet");
    s.ExpectKeys({"steps", "batch", "learning_rate", "random_networks", "seed"});
    c.supernet.steps = s.Int("steps", 1, 10000000, 1000);
    c.supernet.batch_size = s.Int("batch", 1, 4096, 128);
    c.supernet.peak_learning_rate = s.Double("learning_rate", 1e-6, 10, 0.05);
    c.supernet.random_networks = static_cast<int>(s.Int("random_networks", 0, 16, 2));
    c.supernet.seed = static_cast<uint64_t>(s.Int("seed", 0, INT64_MAX, 0));
  }
  c.supernet.augment = c.teacher.augment;
  if (config.Has("proxy")) {
    const ConfigNode p = config.Child("proxy");
    p.ExpectKeys({"steps", "epochs", "batch", "learning_rate", "bn_batches"});
    if (p.Has("steps") && p.Has("epochs")) p.Fail("give steps or epochs, not both");
    c.proxy.steps = p.Int("steps", 1, 10000000, 100);
    c.proxy.epochs = static_cast<int>(p.Int("epochs", 1, 1000, 0));
    c.proxy.batch_size = p.Int("batch", 1, 4096, 64);
    c.proxy.peak_learning_rate = p.Double("learning_rate", 1e-6, 10, 0.01);
    c.proxy.bn_batches = static_cast<int>(p.Int("bn_batches", 1, 1000, 10));
  }
  if (config.Has("final")) {
    const ConfigNode f = config.Child("final");
    f.ExpectKeys({"steps", "most_accurate_steps"});
    c.final_steps = f.Int("steps", 1, 10000000, 1000);
    c.most_accurate_final_steps = f.Int("most_accurate_steps", 1, 10000000, c.final_steps);
  }
  if (config.Has("distill")) {
    const ConfigNode d = config.Child("distill");
    d.ExpectKeys({"alpha", "temperature"});
    c.distill.alpha = d.Double("alpha", 0, 1, 0.5);
    c.distill.temperature = d.Double("temperature", 0.1, 100, 4.0);
  }
  c.inherited_accuracy = config.Bool("inherited_accuracy", false);
  c.from_scratch = config.Choice("init", {"supernet", "scratch"}, "supernet") == "scratch";
  return c;
}

// Everything that determines a network's layers and shapes.
std::string ShapeKey(const NetworkSpec& spec) {
  std::ostringstream out;
  out << spec.in_channels << "x" << spec.in_size << "->" << spec.classes;
  for (const Layer& l : spec.layers) {
    out << ";" << l.name << ":" << LayerOpName(l.op) << "," << l.cin << "," << l.cout << ","
        << l.kernel << "," << l.stride << "," << l.groups << "," << l.padding << "," << l.h_in
        << "," << l.residual_from;
  }
  return out.str();
}

// The first `count` rows of a data set (all of them for 0).
Dataset Head(const Dataset& data, int64_t count) {
  if (count == 0 || count >= data.size()) return data;
  std::vector<int64_t> rows(count);
  for (int64_t i = 0; i < count; ++i) rows[i] = i;
  return Subset(data, rows);
}

// A data set's identity for cache keys: its size, shape and a hash of its labels and pixels.
std::string Fingerprint(const Dataset& data) {
  std::string bytes(reinterpret_cast<const char*>(data.labels.data()), data.labels.size() * sizeof(int));
  bytes.append(reinterpret_cast<const char*>(data.images.data()), data.images.size() * sizeof(float));
  return std::to_string(data.size()) + "x" + std::to_string(data.shape.size()) + ":" +
         StableHashHex(bytes);
}

class DistillEvaluator : public Evaluator {
 public:
  DistillEvaluator(DistillConfig config, const EvaluatorContext& context)
      : config_(std::move(config)),
        splits_(LoadFashionMnist(config_.data_dir), config_.split),
        train_(Head(splits_.train(), config_.train_images)),
        validation_(Head(splits_.validation(), config_.validation_images)),
        supernet_(context.space.largest, config_.supernet.seed) {
    if (context.space.largest.layers.empty()) {
      throw ConfigError("evaluator kind distill needs a space that can build its largest network "
                        "(kind fmnist)");
    }
    const ImageShape expected{context.space.largest.in_channels, context.space.largest.in_size,
                              context.space.largest.in_size};
    if (!(train_.shape == expected) || train_.num_classes != context.space.largest.classes) {
      throw ConfigError("evaluator distill: the data in " + config_.data_dir +
                        " does not fit the space's input (" + std::to_string(expected.channels) +
                        "x" + std::to_string(expected.height) + "x" + std::to_string(expected.width) +
                        ", " + std::to_string(context.space.largest.classes) + " classes)");
    }
    if (config_.proxy.epochs > 0) {
      config_.proxy.steps =
          std::max<int64_t>(1, config_.proxy.epochs * train_.size() / config_.proxy.batch_size);
    }
    PrepareTeacher(context);
    PrepareSupernet(context);
    teacher_logits_ = Logits(*teacher_, train_);
  }

  std::string_view kind() const override { return "distill"; }

  EvalResult Evaluate(const NetworkSpec& spec) const override {
    return Score(spec, config_.proxy.steps, validation_, "validation");
  }

  int64_t FinalSteps(FinalRole role) const override {
    return role == FinalRole::kMostAccurate ? config_.most_accurate_final_steps : config_.final_steps;
  }

  EvalResult FinalEvaluate(const NetworkSpec& spec, FinalRole role) const override {
    return Score(spec, FinalSteps(role), splits_.final_test(), "test");
  }

  std::optional<Teacher> teacher() const override { return teacher_info_; }

 private:
  std::string CachePath(const std::string& what, const std::string& key) const {
    return config_.cache_dir + "/" + what + "-" + StableHashHex(key) + ".weights";
  }

  void PrepareTeacher(const EvaluatorContext& context) {
    const TrainOptions& t = config_.teacher;
    teacher_key_ = "format " + std::to_string(kCacheFormat) + "|" + ShapeKey(context.space.largest) +
                   "|data " + Fingerprint(train_) + "|epochs " + std::to_string(t.epochs) + " batch " +
                   std::to_string(t.batch_size) + " lr " + std::to_string(t.peak_learning_rate) +
                   " wd " + std::to_string(t.weight_decay) + " seed " + std::to_string(t.seed);
    teacher_ = BuildNetwork(DenseFloat(context.space.largest), t.seed);
    const std::string path = CachePath("teacher", teacher_key_);
    auto parameters = Collect(*teacher_);
    if (std::filesystem::exists(path)) {
      LoadWeights(path, parameters);
      Log("teacher: reusing " + path);
    } else {
      Log("teacher: training the largest network (" + std::to_string(t.epochs) + " epochs on " +
          std::to_string(train_.size()) + " images)");
      Train(*teacher_, train_, t, [&](int64_t done, int64_t total) {
        if (context.progress) context.progress("teacher", done, total);
      });
      // Ranked channels make the first channels of every layer its most important ones.
      Supernet sorted(context.space.largest, 0);
      Copy(parameters, sorted.Parameters());
      sorted.SortChannels();
      Copy(sorted.Parameters(), parameters);
      std::filesystem::create_directories(config_.cache_dir);
      SaveWeights(path, parameters);
      Log("teacher: saved to " + path);
    }
    // The test accuracy too: the front's test accuracies are judged against it.
    teacher_info_ = Teacher{DenseFloat(context.space.largest), 100 * Accuracy(*teacher_, splits_.final_test())};
    Log("teacher: validation accuracy " + Percent(Accuracy(*teacher_, validation_)) +
        ", test accuracy " + Percent(teacher_info_->test_accuracy / 100));
  }

  void PrepareSupernet(const EvaluatorContext& context) {
    auto parameters = supernet_.Parameters();
    // With one architecture (HAQ/AMC's setting: a fixed network, compression only) every
    // sandwich sub-network is the largest, so weight sharing has nothing to share: inherit the
    // teacher's weights as they are.
    if (ShapeKey(context.space.largest) == ShapeKey(context.space.smallest)) {
      Copy(Collect(*teacher_), parameters);
      Log("supernet: the space has one architecture; candidates inherit the teacher's weights");
      return;
    }
    const SandwichOptions& s = config_.supernet;
    const std::string key = teacher_key_ + "|space " + context.space.key + "|steps " +
                            std::to_string(s.steps) + " batch " + std::to_string(s.batch_size) +
                            " lr " + std::to_string(s.peak_learning_rate) + " random " +
                            std::to_string(s.random_networks) + " seed " + std::to_string(s.seed);
    const std::string path = CachePath("supernet", key);
    if (std::filesystem::exists(path)) {
      LoadWeights(path, parameters);
      Log("supernet: reusing " + path);
      return;
    }
    Copy(Collect(*teacher_), parameters);
    Log("supernet: sandwich training for " + std::to_string(s.steps) + " steps");
    supernet_.Train(train_, context.space, s, [&](int64_t done, int64_t total) {
      if (context.progress) context.progress("supernet", done, total);
    });
    std::filesystem::create_directories(config_.cache_dir);
    SaveWeights(path, parameters);
    Log("supernet: saved to " + path);
  }

  EvalResult Score(const NetworkSpec& spec, int64_t steps, const Dataset& scored,
                   const std::string& split) const {
    const auto start = std::chrono::steady_clock::now();
    EvalResult result;
    try {
      std::vector<LayerCompression> compression;
      // From scratch: the reference a proxy is judged against (hwnas fidelity).
      auto network = config_.from_scratch ? BuildNetwork(spec, config_.supernet.seed, {}, &compression)
                                          : supernet_.Inherit(spec, &compression);
      if (config_.inherited_accuracy) {
        RecalibrateBatchNorm(*network, 0);
        result.metrics["inherited_accuracy"] = 100 * Accuracy(*network, scored);
      }
      FineTune(*network, steps);
      RecalibrateBatchNorm(*network, 1);
      result.accuracy = 100 * Accuracy(*network, scored);
      result.status = EvalStatus::kOk;
      result.metrics["steps"] = static_cast<double>(steps);
      result.metrics[split + "_images"] = static_cast<double>(scored.size());
      DescribeCompression(spec, compression, result.metrics);
    } catch (const std::exception& e) {
      result.status = EvalStatus::kFail;
      result.error = e.what();
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

  // Knowledge distillation from the teacher's precomputed logits, SGD with momentum under a
  // cosine schedule; the layers' masks and fake quantization stay on throughout.
  void FineTune(Sequential& network, int64_t steps) const {
    auto parameters = Collect(network);
    const ProxyOptions& p = config_.proxy;
    auto optimizer = MakeSgd(parameters, {.learning_rate = p.peak_learning_rate, .momentum = 0.9,
                                          .weight_decay = 5e-5, .nesterov = true,
                                          .max_gradient_norm = kMaxGradientNorm});
    const auto schedule = MakeCosineSchedule(p.peak_learning_rate, 0, steps);
    // Batch b of the fine-tune is batch b of a fixed sequence of shuffled epochs: every
    // candidate sees the same images, so their accuracies compare.
    const BatchOptions batching{.batch_size = p.batch_size, .drop_last = true, .seed = 1, .augment = {}};
    auto batches = std::make_unique<BatchIterator>(train_, batching, 0);
    const int64_t per_epoch = batches->num_batches();
    for (int64_t step = 0; step < steps; ++step) {
      // A new epoch's shuffle, once per epoch.
      if (step > 0 && step % per_epoch == 0) {
        batches = std::make_unique<BatchIterator>(train_, batching, step / per_epoch);
      }
      const Batch batch = batches->At(step % per_epoch);
      schedule->Apply(step, *optimizer);
      Tensor teacher({static_cast<int>(batch.labels.size()), train_.num_classes, 1, 1});
      const std::vector<int64_t> rows = batches->Rows(step % per_epoch);
      for (size_t i = 0; i < rows.size(); ++i) {
        teacher.BatchMatrix().row(static_cast<int64_t>(i)) = teacher_logits_.row(rows[i]);
      }
      DistillStepFromLogits(network, *optimizer, ToTensor(batch.images, train_.shape), teacher,
                            batch.labels, config_.distill);
    }
  }

  // Running statistics averaged over training-mode forwards of fixed batches.
  void RecalibrateBatchNorm(Sequential& network, uint64_t seed) const {
    network.ResetRunningStatistics();
    const BatchOptions batching{.batch_size = 128, .drop_last = true, .seed = 1000 + seed, .augment = {}};
    const BatchIterator batches(train_, batching, 0);
    const int64_t count = std::min<int64_t>(config_.proxy.bn_batches, batches.num_batches());
    for (int64_t b = 0; b < count; ++b) {
      network.Forward(ToTensor(batches.At(b).images, train_.shape), Mode::kTrain);
    }
  }

  // What the policy did, per layer and in total: weights stored under the policy (pruned ones
  // left out, a low rank as its factors; a weight quantized to 0 is still stored), model bytes
  // at the policy's bits, bit-operations, and per layer the achieved sparsity (zeros among the
  // compressed weights) and quantization MSE.
  static void DescribeCompression(const NetworkSpec& spec, const std::vector<LayerCompression>& compression,
                                  std::map<std::string, double>& metrics) {
    double params = 0, bytes = 0, bops = 0;
    size_t k = 0;
    for (const Layer& l : spec.layers) {
      if (l.op != LayerOp::kConv && l.op != LayerOp::kLinear) continue;
      const CompressionReport& report = compression.at(k++).report;
      const LayerPolicy& p = l.policy;
      const int inputs = (l.op == LayerOp::kConv ? l.cin / l.groups * l.kernel * l.kernel : l.cin);
      const double dense = static_cast<double>(l.cout) * inputs;
      double stored = dense;
      if (p.rank_ratio < 1 && l.groups == 1) {
        stored = static_cast<double>(RankForRatio(p.rank_ratio, std::min(l.cout, inputs))) * (inputs + l.cout);
      }
      stored *= 1 - p.sparsity;
      params += stored;
      bytes += stored * p.w_bits / 8.0;
      bops += static_cast<double>(l.Macs()) * (stored / dense) * p.w_bits * p.a_bits;
      metrics["sparsity." + l.name] = report.sparsity();
      metrics["quant_mse." + l.name] = report.mse();
    }
    metrics["params"] = params;
    metrics["size_bytes"] = bytes;
    metrics["bops"] = bops;
  }

  static std::vector<NamedParameter> Collect(Sequential& network) {
    std::vector<NamedParameter> parameters;
    network.CollectParameters("", parameters);
    return parameters;
  }

  static void Copy(const std::vector<NamedParameter>& from, const std::vector<NamedParameter>& to) {
    HWNAS_CHECK(from.size() == to.size());
    for (size_t i = 0; i < from.size(); ++i) to[i].parameter->value = from[i].parameter->value;
  }

  static ImageMatrix Logits(Sequential& network, const Dataset& data) {
    ImageMatrix logits(data.size(), data.num_classes);
    constexpr int64_t kBatch = 500;
    for (int64_t first = 0; first < data.size(); first += kBatch) {
      const int64_t rows = std::min(kBatch, data.size() - first);
      logits.middleRows(first, rows) =
          network.Forward(ToTensor(data.images.middleRows(first, rows), data.shape), Mode::kEval)
              .BatchMatrix();
    }
    return logits;
  }

  static void Log(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

  DistillConfig config_;
  DataSplits splits_;
  Dataset train_, validation_;
  Supernet supernet_;
  std::unique_ptr<Sequential> teacher_;
  std::optional<Teacher> teacher_info_;  // once prepared: for judging the front
  std::string teacher_key_;
  ImageMatrix teacher_logits_;  // of every training image, in order
};

}  // namespace

std::unique_ptr<Evaluator> MakeDistillEvaluator(const ConfigNode& config, const EvaluatorContext& context) {
  return std::make_unique<DistillEvaluator>(ReadConfig(config), context);
}

int DistillTeacherEpochs(const ConfigNode& config) { return ReadConfig(config).teacher.epochs; }

}  // namespace hwnas
