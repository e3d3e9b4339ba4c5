#include "evaluator/gaussian_process.h"

#include <tbb/parallel_for.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/stable_hash.h"
#include "core/errors.h"

namespace hwnas {

namespace {

constexpr const char* kFormatHeader = "hwnas-gaussian-process";
constexpr int kFormatVersion = 1;

// The grid the marginal likelihood is maximised over: few enough points to refit every batch.
const double kThetaCategorical[] = {0.25, 0.5, 1, 2, 4, 8};
const double kThetaNumeric[] = {0.1, 0.3, 1, 3};
const double kNoise[] = {1e-3, 1e-2, 1e-1};

std::string HexDouble(double x) {
  char text[40];
  std::snprintf(text, sizeof text, "%a", x);
  return text;
}

}  // namespace

double GaussianProcess::Kernel(const GpInput& a, const GpInput& b) const {
  double hamming = 0;
  for (size_t k = 0; k < a.categorical.size(); ++k) hamming += a.categorical[k] != b.categorical[k];
  double distance = 0;
  for (size_t k = 0; k < a.numeric.size(); ++k) {
    const double d = a.numeric[k] - b.numeric[k];
    distance += d * d;
  }
  const double categorical = a.categorical.empty() ? 0 : hamming / a.categorical.size();
  const double numeric = a.numeric.empty() ? 0 : distance / a.numeric.size();
  return std::exp(-theta_c_ * categorical - theta_n_ * numeric);
}

std::vector<double> GaussianProcess::Standardise(const std::vector<double>& numeric) const {
  std::vector<double> out(numeric.size());
  for (size_t k = 0; k < numeric.size(); ++k) {
    out[k] = (numeric[k] - numeric_mean_[k]) / numeric_scale_[k];
  }
  return out;
}

void GaussianProcess::Factorise(const std::vector<double>& targets) {
  const size_t n = inputs_.size();
  Eigen::MatrixXd k(n, n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j <= i; ++j) k(i, j) = k(j, i) = Kernel(inputs_[i], inputs_[j]);
    k(i, i) += noise_;
  }
  cholesky_.compute(k);
  Eigen::VectorXd y(n);
  for (size_t i = 0; i < n; ++i) y(i) = (targets[i] - target_mean_) / target_scale_;
  alpha_ = cholesky_.solve(y);
}

void GaussianProcess::Fit(const std::vector<GpInput>& inputs, const std::vector<double>& targets) {
  HWNAS_CHECK(inputs.size() == targets.size() && inputs.size() >= 2);
  const size_t n = inputs.size();
  const size_t dims = inputs[0].numeric.size();
  numeric_mean_.assign(dims, 0);
  numeric_scale_.assign(dims, 0);
  for (const auto& in : inputs) {
    for (size_t k = 0; k < dims; ++k) numeric_mean_[k] += in.numeric[k] / n;
  }
  for (const auto& in : inputs) {
    for (size_t k = 0; k < dims; ++k) {
      numeric_scale_[k] += std::pow(in.numeric[k] - numeric_mean_[k], 2) / n;
    }
  }
  for (auto& s : numeric_scale_) s = s > 0 ? std::sqrt(s) : 1.0;
  target_mean_ = 0;
  for (double t : targets) target_mean_ += t / n;
  double variance = 0;
  for (double t : targets) variance += (t - target_mean_) * (t - target_mean_) / n;
  target_scale_ = variance > 0 ? std::sqrt(variance) : 1.0;
  inputs_.clear();
  for (const auto& in : inputs) inputs_.push_back({in.categorical, Standardise(in.numeric)});
  targets_ = targets;

  // Log marginal likelihood of every grid point, in parallel; the grid order breaks ties, so
  // the choice does not depend on the thread count.
  struct Hyper {
    double theta_c, theta_n, noise;
  };
  std::vector<Hyper> grid;
  for (double c : kThetaCategorical) {
    for (double t : kThetaNumeric) {
      for (double e : kNoise) {
        grid.push_back({c, dims ? t : 0.0, e});
        if (!dims) break;
      }
    }
  }
  std::vector<double> likelihood(grid.size());
  tbb::parallel_for(size_t{0}, grid.size(), [&](size_t g) {
    GaussianProcess trial = *this;
    trial.theta_c_ = grid[g].theta_c;
    trial.theta_n_ = grid[g].theta_n;
    trial.noise_ = grid[g].noise;
    trial.Factorise(targets);
    if (trial.cholesky_.info() != Eigen::Success) {
      likelihood[g] = -std::numeric_limits<double>::infinity();
      return;
    }
    Eigen::VectorXd y(n);
    for (size_t i = 0; i < n; ++i) y(i) = (targets[i] - target_mean_) / target_scale_;
    const Eigen::MatrixXd l = trial.cholesky_.matrixL();
    likelihood[g] = -0.5 * y.dot(trial.alpha_) - l.diagonal().array().log().sum();
  });
  size_t best = 0;
  for (size_t g = 1; g < grid.size(); ++g) {
    if (likelihood[g] > likelihood[best]) best = g;
  }
  theta_c_ = grid[best].theta_c;
  theta_n_ = grid[best].theta_n;
  noise_ = grid[best].noise;
  Factorise(targets);
}

GpPrediction GaussianProcess::Predict(const GpInput& input) const {
  HWNAS_CHECK(fitted());
  const GpInput x{input.categorical, Standardise(input.numeric)};
  Eigen::VectorXd k(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) k(i) = Kernel(x, inputs_[i]);
  const double mean = k.dot(alpha_);
  const Eigen::VectorXd v = cholesky_.matrixL().solve(k);
  const double variance = std::max(1.0 - v.squaredNorm(), 1e-12);
  return {target_mean_ + target_scale_ * mean, target_scale_ * std::sqrt(variance)};
}

void GaussianProcess::Save(const std::string& path) const {
  HWNAS_CHECK(fitted());
  std::ostringstream body;
  body << "theta " << HexDouble(theta_c_) << " " << HexDouble(theta_n_) << " " << HexDouble(noise_)
       << "\n";
  body << "points " << inputs_.size() << " " << inputs_[0].categorical.size() << " "
       << numeric_mean_.size() << "\n";
  for (size_t i = 0; i < inputs_.size(); ++i) {
    // Inputs are kept standardised, with the scales that standardise new inputs.
    for (int c : inputs_[i].categorical) body << c << " ";
    for (double v : inputs_[i].numeric) body << HexDouble(v) << " ";
    body << HexDouble(targets_[i]) << "\n";
  }
  body << "scales";
  for (size_t k = 0; k < numeric_mean_.size(); ++k) {
    body << " " << HexDouble(numeric_mean_[k]) << " " << HexDouble(numeric_scale_[k]);
  }
  body << "\n";
  const std::string text = body.str();
  std::ofstream out(path + ".tmp");
  out << kFormatHeader << " " << kFormatVersion << " " << StableHash(text) << "\n" << text;
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    throw IoError(path + ": cannot write the model file");
  }
}

GaussianProcess GaussianProcess::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open file");
  std::string header;
  int version = 0;
  uint64_t checksum = 0;
  in >> header >> version >> checksum;
  if (header != kFormatHeader) throw IoError(path + ": not an hwnas model file");
  if (version != kFormatVersion) {
    throw IoError(path + ": model file version " + std::to_string(version) + ", this hwnas reads " +
                  std::to_string(kFormatVersion));
  }
  in.ignore(1);
  std::stringstream rest;
  rest << in.rdbuf();
  const std::string text = rest.str();
  if (StableHash(text) != checksum) throw IoError(path + ": checksum mismatch (truncated or edited file)");

  std::istringstream body(text);
  auto hex = [&] {
    std::string token;
    body >> token;
    return std::strtod(token.c_str(), nullptr);
  };
  GaussianProcess gp;
  std::string word;
  body >> word;
  gp.theta_c_ = hex();
  gp.theta_n_ = hex();
  gp.noise_ = hex();
  size_t n = 0, categorical = 0, numeric = 0;
  body >> word >> n >> categorical >> numeric;
  std::vector<double> targets(n);
  gp.inputs_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    gp.inputs_[i].categorical.resize(categorical);
    for (auto& c : gp.inputs_[i].categorical) body >> c;
    gp.inputs_[i].numeric.resize(numeric);
    for (auto& v : gp.inputs_[i].numeric) v = hex();
    targets[i] = hex();
  }
  body >> word;
  gp.numeric_mean_.resize(numeric);
  gp.numeric_scale_.resize(numeric);
  for (size_t k = 0; k < numeric; ++k) {
    gp.numeric_mean_[k] = hex();
    gp.numeric_scale_[k] = hex();
  }
  if (!body) throw IoError(path + ": malformed model file");
  gp.targets_ = targets;
  gp.target_mean_ = 0;
  for (double t : targets) gp.target_mean_ += t / n;
  double variance = 0;
  for (double t : targets) variance += (t - gp.target_mean_) * (t - gp.target_mean_) / n;
  gp.target_scale_ = variance > 0 ? std::sqrt(variance) : 1.0;
  gp.Factorise(targets);
  return gp;
}

}  // namespace hwnas
