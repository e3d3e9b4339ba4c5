#include "evaluator/gaussian_process.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "core/errors.h"

namespace hwnas {

namespace {

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

void GaussianProcess::Fit(const std::vector<GpInput>& inputs, const std::vector<double>& targets,
                          const Hyperparameters* fixed) {
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
  searched_.clear();
  if (fixed) {
    theta_c_ = fixed->theta_categorical;
    theta_n_ = dims ? fixed->theta_numeric : 0.0;
    noise_ = fixed->noise;
    Factorise(targets);
    return;
  }

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
  for (size_t g = 0; g < grid.size(); ++g) {
    searched_.push_back({{grid[g].theta_c, grid[g].theta_n, grid[g].noise}, likelihood[g]});
  }
  std::stable_sort(searched_.begin(), searched_.end(), [](const auto& a, const auto& b) {
    return a.log_likelihood > b.log_likelihood;
  });
  const Hyperparameters& best = searched_.front().hyperparameters;
  theta_c_ = best.theta_categorical;
  theta_n_ = best.theta_numeric;
  noise_ = best.noise;
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

void GaussianProcess::Write(std::ostream& out) const {
  HWNAS_CHECK(fitted());
  out << "theta " << HexDouble(theta_c_) << " " << HexDouble(theta_n_) << " " << HexDouble(noise_)
      << "\n";
  out << "points " << inputs_.size() << " " << inputs_[0].categorical.size() << " "
      << numeric_mean_.size() << "\n";
  for (size_t i = 0; i < inputs_.size(); ++i) {
    // Inputs are kept standardised, with the scales that standardise new inputs.
    for (int c : inputs_[i].categorical) out << c << " ";
    for (double v : inputs_[i].numeric) out << HexDouble(v) << " ";
    out << HexDouble(targets_[i]) << "\n";
  }
  out << "scales";
  for (size_t k = 0; k < numeric_mean_.size(); ++k) {
    out << " " << HexDouble(numeric_mean_[k]) << " " << HexDouble(numeric_scale_[k]);
  }
  out << "\n";
}

bool GaussianProcess::Read(std::istream& in, GaussianProcess& gp) {
  auto hex = [&] {
    std::string token;
    in >> token;
    return std::strtod(token.c_str(), nullptr);
  };
  std::string word;
  in >> word;
  if (word != "theta") return false;
  gp.theta_c_ = hex();
  gp.theta_n_ = hex();
  gp.noise_ = hex();
  size_t n = 0, categorical = 0, numeric = 0;
  in >> word >> n >> categorical >> numeric;
  if (!in || word != "points" || n < 2 || n > 10000000) return false;
  std::vector<double> targets(n);
  gp.inputs_.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    gp.inputs_[i].categorical.resize(categorical);
    for (auto& c : gp.inputs_[i].categorical) in >> c;
    gp.inputs_[i].numeric.resize(numeric);
    for (auto& v : gp.inputs_[i].numeric) v = hex();
    targets[i] = hex();
  }
  in >> word;
  if (word != "scales") return false;
  gp.numeric_mean_.resize(numeric);
  gp.numeric_scale_.resize(numeric);
  for (size_t k = 0; k < numeric; ++k) {
    gp.numeric_mean_[k] = hex();
    gp.numeric_scale_[k] = hex();
  }
  if (!in) return false;
  gp.targets_ = targets;
  gp.target_mean_ = 0;
  for (double t : targets) gp.target_mean_ += t / n;
  double variance = 0;
  for (double t : targets) variance += (t - gp.target_mean_) * (t - gp.target_mean_) / n;
  gp.target_scale_ = variance > 0 ? std::sqrt(variance) : 1.0;
  gp.Factorise(targets);
  return true;
}

}  // namespace hwnas
