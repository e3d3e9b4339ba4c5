// The weight-sharing supernet (evaluator/supernet.h) on a small fmnist space: the largest
// candidate inherits the supernet exactly, channel sorting keeps what it computes, smaller
// candidates take first channels and kernel centres, sandwich training moves the shared weights;
// and BuildNetwork's low-rank factors from an initializer are the best rank-r approximation.
#include <gtest/gtest.h>

#include <Eigen/LU>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "compress/low_rank.h"
#include "core/errors.h"
#include "core/rng.h"
#include "evaluator/supernet.h"
#include "nn/network.h"
#include "search/search_space.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;

// Stem 4 or 8 wide; stage 1 has a residual when 2 deep; kernels up to 7, expansions up to 3.
constexpr const char* kSpace = R"(kind: fmnist
name: supernet-fixture
classes: 10
stem_widths: [4, 8]
stages:
  - {depths: [1, 2], widths: [4, 8]}
  - {depths: [1], widths: [8, 12]}
  - {depths: [1, 2], widths: [8, 16]}
kernels: [3, 5, 7]
expansions: [1, 2, 3]
policy:
  w_bits: [8, 32]
  a_bits: [8, 32]
  sparsity: [0, 0.5]
  pattern: [unstructured]
  rank: [1, 0.5]
rules:
  - {if: {layer: [stem, depthwise]}, then: {rank: [1]}}
)";

class SupernetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    space_ = LoadSearchSpace(dir_.Write("space.yaml", kSpace));
    largest_ = DenseFloat(space_->Expand(space_->Extreme(true)));
  }

  static Tensor RandomImages(int n, uint64_t seed) {
    Rng rng(seed);
    Tensor t({n, 1, 28, 28});
    for (auto& v : t.values) v = static_cast<float>(rng.Uniform());
    return t;
  }

  // Moves every batch norm's running statistics away from (0, 1), so inheriting them matters.
  static void WarmBatchNorm(Sequential& network) {
    for (int i = 0; i < 3; ++i) network.Forward(RandomImages(16, 100 + i), Mode::kTrain);
  }

  TempDir dir_;
  std::unique_ptr<SearchSpace> space_;
  NetworkSpec largest_;
};

// A network's parameters by spec layer name, in the order BuildNetwork creates them: conv
// weight; batch norm weight, bias, running mean and variance; linear weight and bias. Only for
// dense full-rank specs (one module per layer).
std::map<std::string, std::vector<Parameter*>> ByLayer(const NetworkSpec& spec, Sequential& network) {
  std::vector<NamedParameter> all;
  network.CollectParameters("", all);
  std::map<std::string, std::vector<Parameter*>> layers;
  size_t next = 0;
  for (const Layer& l : spec.layers) {
    const size_t count = l.op == LayerOp::kConv ? 1 : l.op == LayerOp::kBatchNorm ? 4 : l.op == LayerOp::kLinear ? 2 : 0;
    for (size_t i = 0; i < count; ++i) {
      EXPECT_LT(next, all.size());
      if (next < all.size()) layers[l.name].push_back(all[next++].parameter);
    }
  }
  EXPECT_EQ(next, all.size());
  return layers;
}

const Layer& LayerNamed(const NetworkSpec& spec, const std::string& name) {
  for (const Layer& l : spec.layers) {
    if (l.name == name) return l;
  }
  throw std::runtime_error("no layer " + name);
}

TEST_F(SupernetTest, LargestCandidateInheritsTheSupernetExactly) {
  Supernet supernet(largest_, 3);
  WarmBatchNorm(supernet.network());
  auto inherited = supernet.Inherit(largest_);
  const Tensor images = RandomImages(9, 1);
  const Tensor expected = supernet.network().Forward(images, Mode::kEval);
  const Tensor actual = inherited->Forward(images, Mode::kEval);
  ASSERT_EQ(actual.shape, expected.shape);
  ASSERT_EQ(actual.shape, (Shape{9, 10, 1, 1}));
  for (int64_t i = 0; i < expected.values.size(); ++i) {
    EXPECT_EQ(actual.values[i], expected.values[i]) << i;
  }
  // Different seeds give different supernets: the equality above is not by construction.
  Supernet other(largest_, 4);
  EXPECT_FALSE((other.network().Forward(images, Mode::kEval).values == expected.values).all());
}

TEST_F(SupernetTest, SortingChannelsKeepsTheOutputsAndRanksByL1) {
  Supernet supernet(largest_, 5);
  WarmBatchNorm(supernet.network());
  const Tensor images = RandomImages(7, 2);
  const Tensor before = supernet.network().Forward(images, Mode::kEval);
  auto layers = ByLayer(largest_, supernet.network());
  const Eigen::ArrayXf stem_before = layers.at("stem")[0]->value;
  supernet.SortChannels();
  const Tensor after = supernet.network().Forward(images, Mode::kEval);
  for (int64_t i = 0; i < before.values.size(); ++i) {
    EXPECT_NEAR(after.values[i], before.values[i], 1e-5 * std::max(1.0f, std::abs(before.values[i]))) << i;
  }
  auto row_l1 = [](const Parameter& w, int rows) {
    const int64_t per_row = w.value.size() / rows;
    std::vector<double> l1(rows);
    for (int r = 0; r < rows; ++r) l1[r] = w.value.segment(r * per_row, per_row).abs().cast<double>().sum();
    return l1;
  };
  // The stem's 8 output channels feed only s1.b1.exp: ranked by the stem's rows alone.
  const int stem_width = LayerNamed(largest_, "stem").cout;
  ASSERT_EQ(stem_width, 8);
  const std::vector<double> stem = row_l1(*layers.at("stem")[0], stem_width);
  for (int c = 1; c < stem_width; ++c) EXPECT_GE(stem[c - 1], stem[c]) << c;
  // The same rows, reordered: a permutation, and not the identity (8 random rows).
  const std::vector<double> old_stem = [&] {
    Parameter p({stem_width, 1, 3, 3});
    p.value = stem_before;
    return row_l1(p, stem_width);
  }();
  EXPECT_NE(old_stem, stem);
  std::vector<double> sorted_old = old_stem;
  std::sort(sorted_old.rbegin(), sorted_old.rend());
  EXPECT_EQ(sorted_old, stem);
  // An expand conv's hidden channels are ranked by its rows (the depthwise conv after it only
  // scales them).
  const Layer& exp = LayerNamed(largest_, "s2.b1.exp");
  const std::vector<double> hidden = row_l1(*layers.at("s2.b1.exp")[0], exp.cout);
  for (int c = 1; c < exp.cout; ++c) EXPECT_GE(hidden[c - 1], hidden[c]) << c;
  // Stage 3's two blocks add into one channel dimension: ranked by the sum of both projections.
  const Layer& proj = LayerNamed(largest_, "s3.b1.proj");
  const std::vector<double> a = row_l1(*layers.at("s3.b1.proj")[0], proj.cout);
  const std::vector<double> b = row_l1(*layers.at("s3.b2.proj")[0], proj.cout);
  for (int c = 1; c < proj.cout; ++c) EXPECT_GE(a[c - 1] + b[c - 1], b[c] + a[c]) << c;
  // The classifier's outputs (the classes) keep their order: logits are the same, not permuted
  // (checked above); the network input's single channel likewise.
}

// A candidate with kernel 3 where the supernet has 7, fewer channels and blocks: its weights are
// the centre crop and the first channels of the supernet's.
TEST_F(SupernetTest, SmallerCandidatesInheritFirstChannelsAndKernelCentres) {
  Supernet supernet(largest_, 7);
  WarmBatchNorm(supernet.network());
  supernet.SortChannels();
  const std::string largest_text = space_->Format(space_->Extreme(true));
  // Stem 4 wide, stage 1 one block of kernel 3 and expansion 2, width 4.
  Candidate small = space_->Extreme(true);
  auto set = [&](const std::string& knob, const std::string& choice) {
    for (size_t k = 0; k < space_->knobs().size(); ++k) {
      if (space_->knobs()[k].name != knob) continue;
      const auto& choices = space_->knobs()[k].choices;
      const auto it = std::find(choices.begin(), choices.end(), choice);
      ASSERT_NE(it, choices.end()) << knob << "=" << choice;
      small.choices[k] = static_cast<int>(it - choices.begin());
    }
  };
  set("stem.width", "4");
  set("s1.depth", "1");
  set("s1.width", "4");
  set("s1.b1.k", "3");
  set("s1.b1.e", "2");
  set("s3.b1.k", "5");
  small = space_->Canonical(small);
  ASSERT_TRUE(space_->IsValid(small));
  const NetworkSpec spec = DenseFloat(space_->Expand(small));
  auto network = supernet.Inherit(spec);
  auto part = ByLayer(spec, *network);
  auto full = ByLayer(largest_, supernet.network());
  ASSERT_FALSE(part.count("s1.b2.dw"));

  // Depthwise 7x7 -> 3x3: s1.b1.dw is 8 channels (4 x 2) of the supernet's 24 (8 x 3).
  const Layer& dw = LayerNamed(spec, "s1.b1.dw");
  const Layer& dw_full = LayerNamed(largest_, "s1.b1.dw");
  ASSERT_EQ(dw.kernel, 3);
  ASSERT_EQ(dw_full.kernel, 7);
  ASSERT_EQ(dw.cout, 8);
  ASSERT_EQ(dw_full.cout, 24);
  const Eigen::ArrayXf& w = part.at("s1.b1.dw")[0]->value;
  const Eigen::ArrayXf& wf = full.at("s1.b1.dw")[0]->value;
  ASSERT_EQ(w.size(), 8 * 9);
  for (int c = 0; c < 8; ++c) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        EXPECT_EQ(w[(c * 3 + i) * 3 + j], wf[(c * 7 + i + 2) * 7 + j + 2]) << c << "," << i << "," << j;
      }
    }
  }
  // Kernel 5 of 7: offset 1.
  const Eigen::ArrayXf& w5 = part.at("s3.b1.dw")[0]->value;
  const Eigen::ArrayXf& w5f = full.at("s3.b1.dw")[0]->value;
  EXPECT_EQ(w5[0], w5f[1 * 7 + 1]);
  EXPECT_EQ(w5[24], w5f[5 * 7 + 5]);
  // 1x1 projection 8 -> 4 of the supernet's 24 -> 8: the top-left block of the weight matrix.
  const Eigen::ArrayXf& p = part.at("s1.b1.proj")[0]->value;
  const Eigen::ArrayXf& pf = full.at("s1.b1.proj")[0]->value;
  ASSERT_EQ(p.size(), 4 * 8);
  for (int o = 0; o < 4; ++o) {
    for (int i = 0; i < 8; ++i) EXPECT_EQ(p[o * 8 + i], pf[o * 24 + i]) << o << "," << i;
  }
  // Expand 4 -> 8 of the supernet's 8 -> 24.
  const Eigen::ArrayXf& e = part.at("s1.b1.exp")[0]->value;
  const Eigen::ArrayXf& ef = full.at("s1.b1.exp")[0]->value;
  for (int o = 0; o < 8; ++o) {
    for (int i = 0; i < 4; ++i) EXPECT_EQ(e[o * 4 + i], ef[o * 8 + i]) << o << "," << i;
  }
  // Batch norms: the first channels of all four vectors, running statistics included.
  for (int v = 0; v < 4; ++v) {
    const Eigen::ArrayXf& bn = part.at("s1.b1.dw.bn")[v]->value;
    ASSERT_EQ(bn.size(), 8);
    for (int c = 0; c < 8; ++c) EXPECT_EQ(bn[c], full.at("s1.b1.dw.bn")[v]->value[c]) << v << "," << c;
  }
  // The classifier: all classes, the first inputs (stage 3 is 16 wide in both).
  const Eigen::ArrayXf& fc = part.at("fc")[0]->value;
  EXPECT_EQ(fc.size(), full.at("fc")[0]->value.size());
  EXPECT_TRUE((fc == full.at("fc")[0]->value).all());
  // The inherited network runs.
  const Tensor out = network->Forward(RandomImages(3, 4), Mode::kEval);
  EXPECT_TRUE(out.values.isFinite().all());
  // A layer the supernet lacks is refused, naming it.
  NetworkSpec foreign = spec;
  foreign.layers[0].name = "not-there";
  EXPECT_TRUE(test::ThrowsWith<UnsupportedError>([&] { supernet.Inherit(foreign); },
                                                 {"layer 'not-there' is not in the supernet"}));
}

// A synthetic data set: class c is a bright square at position c of a 4 x 3 grid.
Dataset SyntheticSquares(int n, uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.shape = {1, 28, 28};
  data.num_classes = 10;
  data.images = ImageMatrix::Zero(n, 28 * 28);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.Below(10));
    data.labels.push_back(label);
    const int y0 = (label / 4) * 9, x0 = (label % 4) * 7;
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const bool in = y >= y0 && y < y0 + 7 && x >= x0 && x < x0 + 6;
        data.images(i, y * 28 + x) = static_cast<float>((in ? 0.8 : 0.0) + 0.2 * rng.Uniform());
      }
    }
  }
  return data;
}

TEST_F(SupernetTest, SandwichTrainingMovesTheSharedWeights) {
  Supernet supernet(largest_, 9);
  SpaceNetworks networks{largest_, space_->Expand(space_->Extreme(false)),
                         [&](Rng& rng) { return space_->Expand(space_->Sample(rng)); }, "fixture"};
  std::vector<float> before;
  for (const auto& p : supernet.Parameters()) before.insert(before.end(), p.parameter->value.begin(), p.parameter->value.end());
  const Dataset data = SyntheticSquares(64, 1);
  int64_t reported = 0;
  supernet.Train(data, networks, {.steps = 4, .batch_size = 16, .random_networks = 1, .seed = 2},
                 [&](int64_t done, int64_t total) {
                   EXPECT_EQ(done, reported + 1);
                   EXPECT_EQ(total, 4);
                   reported = done;
                 });
  EXPECT_EQ(reported, 4);
  std::vector<float> after;
  for (const auto& p : supernet.Parameters()) after.insert(after.end(), p.parameter->value.begin(), p.parameter->value.end());
  ASSERT_EQ(after.size(), before.size());
  size_t changed = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_TRUE(std::isfinite(after[i])) << i;
    changed += after[i] != before[i];
  }
  EXPECT_GT(changed, after.size() / 2);
  // The last step left a gradient in every layer's weights, the stem's included.
  auto layers = ByLayer(largest_, supernet.network());
  for (const auto& [name, params] : layers) EXPECT_GT(params[0]->grad.abs().sum(), 0.0f) << name;
  // Both the largest and an inherited small network give finite outputs.
  const Tensor images = RandomImages(5, 3);
  EXPECT_TRUE(supernet.network().Forward(images, Mode::kEval).values.isFinite().all());
  auto small = supernet.Inherit(space_->Expand(space_->Extreme(false)));
  EXPECT_TRUE(small->Forward(images, Mode::kEval).values.isFinite().all());
  EXPECT_TRUE(test::ThrowsWith<ConfigError>(
      [&] { supernet.Train(data, networks, {.steps = 0}); }, {"at least one step"}));
}

// Low rank from an initializer (a supernet's weights): the two factors' product is the
// truncated SVD of the starting weights, whose Frobenius error is the root of the discarded
// squared singular values (Eckart-Young).
TEST(LowRankBuild, FactorsFromAnInitializerAreTheBestRankRApproximation) {
  NetworkSpec spec;
  spec.in_channels = 6;
  spec.in_size = 5;
  spec.classes = 7;
  LayerPolicy half;
  half.rank_ratio = 0.5;
  Layer pw{LayerOp::kConv, 6, 12, 1, 1, 1, 0, 5, half};
  pw.name = "pw";
  Layer pool{LayerOp::kGlobalAvgPool, 12, 12, 5, 1, 1, 0, 5, {}};
  pool.name = "pool";
  Layer fc{LayerOp::kLinear, 12, 7, 1, 1, 1, 0, 1, half};
  fc.name = "fc";
  spec.layers = {pw, pool, fc};
  Rng rng(21);
  auto random_matrix = [&](int rows, int cols) {
    WeightMatrix m(rows, cols);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) m(r, c) = static_cast<float>(2 * rng.Uniform() - 1);
    }
    return m;
  };
  const WeightMatrix w_pw = random_matrix(12, 6), w_fc = random_matrix(7, 12);
  Eigen::ArrayXf bias_fc(7);
  for (auto& b : bias_fc) b = static_cast<float>(rng.Uniform());
  std::vector<std::string> initialized;
  auto initialize = [&](const Layer& layer, const std::vector<NamedParameter>& p) {
    initialized.push_back(layer.name);
    if (layer.name == "pw") {
      ASSERT_EQ(p.size(), 1u);
      ASSERT_EQ(p[0].parameter->shape, (std::vector<int>{12, 6, 1, 1}));
      Eigen::Map<WeightMatrix>(p[0].parameter->value.data(), 12, 6) = w_pw;
    } else {
      ASSERT_EQ(p.size(), 2u);
      ASSERT_EQ(p[0].parameter->shape, (std::vector<int>{7, 12}));
      Eigen::Map<WeightMatrix>(p[0].parameter->value.data(), 7, 12) = w_fc;
      p[1].parameter->value = bias_fc;
    }
  };
  std::vector<LayerCompression> compression;
  auto network = BuildNetwork(spec, 1, initialize, &compression);
  EXPECT_EQ(initialized, (std::vector<std::string>{"pw", "fc"}));
  ASSERT_EQ(compression.size(), 2u);
  EXPECT_EQ(compression[0].layer, "pw");
  EXPECT_EQ(compression[1].layer, "fc");
  std::vector<NamedParameter> p;
  network->CollectParameters("", p);
  // pw: first r x 6, second 12 x r; fc: first r x 12 (+ bias r), second 7 x r (+ bias 7).
  ASSERT_EQ(p.size(), 6u);
  const int r_pw = RankForRatio(0.5, 6), r_fc = RankForRatio(0.5, 7);
  EXPECT_EQ(r_pw, 3);
  EXPECT_EQ(r_fc, 4);  // round(3.5)
  ASSERT_EQ(p[0].parameter->shape, (std::vector<int>{r_pw, 6, 1, 1}));
  ASSERT_EQ(p[1].parameter->shape, (std::vector<int>{12, r_pw, 1, 1}));
  ASSERT_EQ(p[2].parameter->shape, (std::vector<int>{r_fc, 12}));
  ASSERT_EQ(p[4].parameter->shape, (std::vector<int>{7, r_fc}));
  auto check = [&](const WeightMatrix& w, const Parameter& first, const Parameter& second, int rank,
                   const std::string& what) {
    const Eigen::MatrixXd a = Eigen::Map<const WeightMatrix>(first.value.data(), rank, w.cols()).cast<double>();
    const Eigen::MatrixXd b = Eigen::Map<const WeightMatrix>(second.value.data(), w.rows(), rank).cast<double>();
    const Eigen::MatrixXd wd = w.cast<double>();
    const double error = (b * a - wd).norm();
    // The tail of the spectrum, by an SVD in double independent of compress/.
    const Eigen::VectorXd s = Eigen::JacobiSVD<Eigen::MatrixXd>(wd).singularValues();
    const double tail = std::sqrt(s.tail(s.size() - rank).squaredNorm());
    EXPECT_GT(tail, 0.1) << what;
    EXPECT_NEAR(error, tail, 1e-4 * s[0]) << what;
    // And compress/low_rank.h reports the same spectrum and factors.
    const LowRankFactors factors = LowRankFactorize(w, rank);
    const Eigen::VectorXf& sv = factors.singular_values;
    ASSERT_EQ(sv.size(), s.size());
    for (int i = 0; i < s.size(); ++i) EXPECT_NEAR(sv[i], s[i], 1e-4 * s[0]) << what << " s" << i;
    EXPECT_NEAR((factors.Reconstruct().cast<double>() - b * a).norm(), 0.0, 1e-5 * s[0]) << what;
    // A worse rank-r matrix exists trivially: any other split; the product's rank is r.
    EXPECT_EQ(Eigen::FullPivLU<Eigen::MatrixXd>(b * a).setThreshold(1e-6).rank(), rank) << what;
  };
  check(w_pw, *p[0].parameter, *p[1].parameter, r_pw, "pw");
  check(w_fc, *p[2].parameter, *p[4].parameter, r_fc, "fc");
  // The linear layer's bias stays with the second factor; the first has none.
  EXPECT_TRUE((p[3].parameter->value == 0.0f).all());
  EXPECT_TRUE((p[5].parameter->value == bias_fc).all());
  // The pruning and quantization report of a dense float policy: nothing removed.
  EXPECT_EQ(compression[0].report.sparsity(), 0.0);
}

}  // namespace
}  // namespace hwnas
