// Evaluator kind `distill` (evaluator/distill_evaluator.cc) on Fashion-MNIST with a small fmnist
// space: fine-tuning beats the inherited weights, the teacher and supernet are cached on disk
// under keys that follow what determines them, and a missing data directory says what to
// install. Needs the Debian package dataset-fashion-mnist.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "evaluator/evaluator.h"
#include "evaluator/fashion_mnist.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::ThrowsWith;

constexpr const char* kSpace = R"(kind: fmnist
name: distill-fixture
classes: 10
stem_widths: [4, 8]
stages:
  - {depths: [1, 2], widths: [8]}
  - {depths: [1, 2], widths: [12, 16]}
  - {depths: [1, 2], widths: [16, 24]}
kernels: [3, 5]
expansions: [1, 2]
policy:
  w_bits: [4, 8, 32]
  a_bits: [4, 8, 32]
  sparsity: [0, 0.5]
  pattern: [unstructured, "2:4"]
  rank: [1, 0.5]
rules:
  - {if: {pattern: ["2:4"]}, then: {sparsity: [0.5]}}
  - {if: {layer: [stem, depthwise]}, then: {rank: [1]}}
)";

// A deliberately under-trained teacher (one epoch of 600 images: 9 steps) and a supernet of a few
// steps, so that 60 steps of fine-tuning robustly improve on the inherited weights.
struct DistillYaml {
  std::string data = kFashionMnistDir;
  std::string cache;
  int train_images = 600;
  int teacher_epochs = 1;
  int supernet_steps = 4;
  int proxy_steps = 60;
  int proxy_epochs = 0;  // when set, the proxy's length in epochs
  bool proxy_steps_and_epochs = false;  // a config error

  std::string Text() const {
    return "kind: distill\n"
           "data: " + data + "\n"
           "cache: " + cache + "\n"
           "train_images: " + std::to_string(train_images) + "\n"
           "validation_images: 500\n"
           "teacher: {epochs: " + std::to_string(teacher_epochs) + ", batch: 64}\n"
           "supernet: {steps: " + std::to_string(supernet_steps) + ", batch: 64}\n"
           "proxy: {" + ProxyLength() + ", batch: 64, bn_batches: 4}\n"
           "final: {steps: 10, most_accurate_steps: 30}\n"
           "inherited_accuracy: true\n";
  }

  std::string ProxyLength() const {
    const std::string steps = "steps: " + std::to_string(proxy_steps);
    const std::string epochs = "epochs: " + std::to_string(proxy_epochs);
    if (proxy_steps_and_epochs) return steps + ", " + epochs;
    return proxy_epochs > 0 ? epochs : steps;
  }
};

class DistillFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(kFashionMnistDir) / "train-images-idx3-ubyte.gz")) {
      GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
    }
    space_path_ = dir_.Write("space.yaml", kSpace);
    space_ = LoadSearchSpace(space_path_);
    cache_ = dir_.File("cache");
  }

  EvaluatorContext Context() const {
    EvaluatorContext context;
    context.space = {space_->Expand(space_->Extreme(true)), space_->Expand(space_->Extreme(false)),
                     [this](Rng& rng) { return space_->Expand(space_->Sample(rng)); }, space_path_};
    return context;
  }

  std::unique_ptr<Evaluator> Make(DistillYaml yaml, std::string* log = nullptr) const {
    if (yaml.cache.empty()) yaml.cache = cache_;
    testing::internal::CaptureStderr();
    std::unique_ptr<Evaluator> evaluator;
    try {
      evaluator = MakeEvaluator(ConfigNode::LoadString(yaml.Text(), "fixture_distill.yaml"), Context());
    } catch (...) {
      testing::internal::GetCapturedStderr();
      throw;
    }
    const std::string captured = testing::internal::GetCapturedStderr();
    if (log) *log = captured;
    return evaluator;
  }

  // The largest network with one policy choice on every conv and linear layer.
  NetworkSpec LargestWith(const std::string& policy) const {
    Candidate c = space_->Extreme(true);
    for (size_t k = 0; k < space_->knobs().size(); ++k) {
      const auto& choices = space_->knobs()[k].choices;
      const auto it = std::find(choices.begin(), choices.end(), policy);
      if (it != choices.end()) c.choices[k] = static_cast<int>(it - choices.begin());
    }
    c = space_->Canonical(c);
    EXPECT_TRUE(space_->IsValid(c));
    return space_->Expand(c);
  }

  std::set<std::string> CacheFiles(const std::string& prefix) const {
    std::set<std::string> files;
    if (!fs::exists(cache_)) return files;
    for (const auto& entry : fs::directory_iterator(cache_)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(prefix) && name.ends_with(".weights")) files.insert(name);
    }
    return files;
  }

  TempDir dir_;
  std::string space_path_, cache_;
  std::unique_ptr<SearchSpace> space_;
};

// Each of these trains a teacher and a supernet, and fine-tunes proxies: tens of seconds.
class DistillEvaluatorSlow : public DistillFixture {};
class DistillEvaluator : public DistillFixture {};

TEST_F(DistillEvaluatorSlow, FineTuningBeatsTheInheritedWeightsAndMetricsDescribeThePolicy) {
  std::string log;
  const auto evaluator = Make({}, &log);
  EXPECT_EQ(evaluator->kind(), "distill");
  EXPECT_NE(log.find("teacher: training the largest network (1 epochs on 600 images)"), std::string::npos) << log;
  EXPECT_NE(log.find("teacher: saved to " + cache_ + "/teacher-"), std::string::npos) << log;
  EXPECT_NE(log.find("supernet: sandwich training for 4 steps"), std::string::npos) << log;
  const NetworkSpec spec = LargestWith("w8a8");
  for (const Layer& l : spec.layers) {
    if (l.op == LayerOp::kConv || l.op == LayerOp::kLinear) {
      ASSERT_EQ(l.policy.w_bits, 8) << l.name;
      ASSERT_EQ(l.policy.a_bits, 8) << l.name;
      ASSERT_EQ(l.policy.sparsity, 0) << l.name;
      ASSERT_EQ(l.policy.rank_ratio, 1) << l.name;
    }
  }
  const EvalResult r = evaluator->Evaluate(spec);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_TRUE(r.metrics.count("inherited_accuracy"));
  EXPECT_GT(r.accuracy, r.metrics.at("inherited_accuracy"));
  EXPECT_GT(r.accuracy, 40.0);  // chance is 10%
  EXPECT_LE(r.accuracy, 100.0);
  EXPECT_EQ(r.metrics.at("steps"), 60);
  EXPECT_EQ(r.metrics.at("validation_images"), 500);
  // Per layer: the achieved sparsity and the quantization MSE. A dense policy prunes nothing,
  // but 8-bit quantization rounds a few small weights to exactly 0, which count as zeros.
  double params = 0, bops = 0;
  int layers = 0;
  for (const Layer& l : spec.layers) {
    if (l.op != LayerOp::kConv && l.op != LayerOp::kLinear) continue;
    ++layers;
    ASSERT_TRUE(r.metrics.count("sparsity." + l.name)) << l.name;
    ASSERT_TRUE(r.metrics.count("quant_mse." + l.name)) << l.name;
    const double sparsity = r.metrics.at("sparsity." + l.name);
    EXPECT_GE(sparsity, 0.0) << l.name;
    EXPECT_LT(sparsity, 0.02) << l.name;
    EXPECT_GT(r.metrics.at("quant_mse." + l.name), 0.0) << l.name;
    EXPECT_LT(r.metrics.at("quant_mse." + l.name), 1e-3) << l.name;
    // Weights (not a linear layer's bias) stored, zeros of quantization included, and
    // bit-operations at 8 x 8 bits.
    const double weights = static_cast<double>(l.op == LayerOp::kLinear ? int64_t{l.cin} * l.cout : l.Params());
    params += weights;
    bops += static_cast<double>(l.Macs()) * 64;
  }
  EXPECT_GT(layers, 10);
  EXPECT_NEAR(r.metrics.at("params"), params, 1e-6 * params);
  EXPECT_DOUBLE_EQ(r.metrics.at("size_bytes"), r.metrics.at("params"));  // a byte per 8-bit weight
  EXPECT_NEAR(r.metrics.at("bops"), bops, 1e-9 * bops);

  // Half the weights pruned (unstructured): the achieved sparsity per layer, bytes halved.
  const EvalResult pruned = evaluator->Evaluate(LargestWith("w8a8-u50"));
  ASSERT_TRUE(pruned.ok()) << pruned.error;
  for (const Layer& l : spec.layers) {
    if (l.op != LayerOp::kConv && l.op != LayerOp::kLinear) continue;
    const double sparsity = pruned.metrics.at("sparsity." + l.name);
    EXPECT_GE(sparsity, 0.5 - 1.0 / static_cast<double>(l.Params())) << l.name;
    EXPECT_LT(sparsity, 0.52) << l.name;
  }
  EXPECT_DOUBLE_EQ(pruned.metrics.at("size_bytes"), 0.5 * r.metrics.at("size_bytes"));
  // A front member's final training, and the longer one of a device's most accurate member; both
  // scored on the 10,000 test images.
  using Role = Evaluator::FinalRole;
  EXPECT_EQ(evaluator->FinalSteps(Role::kMember), 10);
  EXPECT_EQ(evaluator->FinalSteps(Role::kMostAccurate), 30);
  const EvalResult member = evaluator->FinalEvaluate(spec, Role::kMember);
  const EvalResult most_accurate = evaluator->FinalEvaluate(spec, Role::kMostAccurate);
  ASSERT_TRUE(member.ok() && most_accurate.ok()) << member.error << most_accurate.error;
  EXPECT_EQ(member.metrics.at("steps"), 10);
  EXPECT_EQ(most_accurate.metrics.at("steps"), 30);
  EXPECT_EQ(member.metrics.at("test_images"), 10000);
}

// HAQ/AMC's setting: one architecture, compression only. There is nothing to share weights
// among, so no supernet is trained or cached; candidates inherit the teacher as it is.
TEST_F(DistillEvaluatorSlow, ASpaceOfOneArchitectureInheritsTheTeacherWithoutASupernet) {
  std::string space = kSpace;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"stem_widths: [4, 8]", "stem_widths: [8]"}, {"[1, 2], widths: [8]", "[2], widths: [8]"},
           {"[1, 2], widths: [12, 16]", "[2], widths: [16]"}, {"[1, 2], widths: [16, 24]", "[2], widths: [24]"},
           {"kernels: [3, 5]", "kernels: [5]"}, {"expansions: [1, 2]", "expansions: [2]"}}) {
    ASSERT_NE(space.find(from), std::string::npos) << from;
    space.replace(space.find(from), from.size(), to);
  }
  space_path_ = dir_.Write("one-architecture.yaml", space);
  space_ = LoadSearchSpace(space_path_);
  std::string log;
  const auto evaluator = Make({}, &log);
  EXPECT_NE(log.find("supernet: the space has one architecture; candidates inherit the teacher's weights"),
            std::string::npos) << log;
  EXPECT_EQ(log.find("sandwich"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 1u);
  EXPECT_TRUE(CacheFiles("supernet-").empty());
  const EvalResult r = evaluator->Evaluate(LargestWith("w8a8"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_GT(r.accuracy, 40.0);  // chance is 10%
}

TEST_F(DistillEvaluatorSlow, ASecondConstructionReusesTheCacheAndScoresTheSame) {
  const NetworkSpec spec = LargestWith("w8a8");
  std::string log;
  const EvalResult first = Make({}, &log)->Evaluate(spec);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(log.find("reusing"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 1u);
  EXPECT_EQ(CacheFiles("supernet-").size(), 1u);
  const auto again = Make({}, &log);
  EXPECT_NE(log.find("teacher: reusing " + cache_ + "/teacher-"), std::string::npos) << log;
  EXPECT_NE(log.find("supernet: reusing " + cache_ + "/supernet-"), std::string::npos) << log;
  EXPECT_EQ(log.find("training"), std::string::npos) << log;
  const EvalResult second = again->Evaluate(spec);
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_EQ(second.accuracy, first.accuracy);
  EXPECT_EQ(second.metrics, first.metrics);
  EXPECT_EQ(CacheFiles("teacher-").size(), 1u);
}

// Writes a copy of Fashion-MNIST into `dir` whose training labels are all shifted by one: the
// label file plain (read when NAME.gz is absent), the others linked.
void WriteShiftedLabels(const std::string& dir) {
  fs::create_directories(dir);
  for (const char* name : {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    fs::create_symlink(fs::path(kFashionMnistDir) / name, fs::path(dir) / name);
  }
  gzFile in = gzopen((std::string(kFashionMnistDir) + "/train-labels-idx1-ubyte.gz").c_str(), "rb");
  ASSERT_NE(in, nullptr);
  std::string bytes(60008, '\0');
  ASSERT_EQ(gzread(in, bytes.data(), static_cast<unsigned>(bytes.size())), 60008);
  gzclose(in);
  for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = static_cast<char>((bytes[i] + 1) % 10);
  test::WriteFile(dir + "/train-labels-idx1-ubyte", bytes);
}

TEST_F(DistillEvaluatorSlow, CacheKeysFollowEpochsImagesDataAndSupernetSettings) {
  Make({});
  ASSERT_EQ(CacheFiles("teacher-").size(), 1u);
  ASSERT_EQ(CacheFiles("supernet-").size(), 1u);
  std::string log;
  Make({.teacher_epochs = 2}, &log);
  EXPECT_NE(log.find("teacher: training the largest network (2 epochs on 600 images)"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 2u);
  EXPECT_EQ(CacheFiles("supernet-").size(), 2u);  // its key holds the teacher's
  Make({.train_images = 700}, &log);
  EXPECT_NE(log.find("(1 epochs on 700 images)"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 3u);
  // The same settings on other data.
  const std::string shifted = dir_.File("shifted");
  WriteShiftedLabels(shifted);
  if (HasFatalFailure()) return;
  Make({.data = shifted}, &log);
  EXPECT_NE(log.find("teacher: training"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 4u);
  // Only the supernet's steps: the teacher is reused, the supernet trained anew.
  Make({.supernet_steps = 5}, &log);
  EXPECT_NE(log.find("teacher: reusing"), std::string::npos) << log;
  EXPECT_NE(log.find("supernet: sandwich training for 5 steps"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 4u);
  EXPECT_EQ(CacheFiles("supernet-").size(), 5u);
  // The proxy's settings are no part of either key.
  Make({.proxy_steps = 7}, &log);
  EXPECT_EQ(log.find("training"), std::string::npos) << log;
  EXPECT_EQ(CacheFiles("teacher-").size(), 4u);
  EXPECT_EQ(CacheFiles("supernet-").size(), 5u);
}

// Full training for `hwnas fidelity`'s reference: epochs x training images / batch size steps.
TEST_F(DistillEvaluatorSlow, ProxyEpochsSetTheStepsFromTheTrainingImages) {
  const auto evaluator = Make({.proxy_epochs = 2});
  const EvalResult result = evaluator->Evaluate(space_->Expand(space_->Extreme(false)));
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.metrics.at("steps"), 2 * 600 / 64);
}

TEST_F(DistillEvaluator, ProxyStepsAndEpochsTogetherAreAConfigError) {
  EXPECT_TRUE(ThrowsWith<ConfigError>([&] { Make({.proxy_steps_and_epochs = true}); },
                                      {"fixture_distill.yaml", "proxy",
                                       "give steps or epochs, not both"}));
  EXPECT_FALSE(fs::exists(cache_));
}

TEST_F(DistillEvaluator, AMissingDataDirectoryNamesThePathAndThePackage) {
  EXPECT_TRUE(ThrowsWith<IoError>([&] { Make({.data = "/nonexistent"}); },
                                  {"/nonexistent/train-images-idx3-ubyte", "dataset-fashion-mnist"}));
  EXPECT_FALSE(fs::exists(cache_));
}

}  // namespace
}  // namespace hwnas
