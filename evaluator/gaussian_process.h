// Gaussian-process regression on mixed features, the surrogate behind the `guided` sampler and
// the `predictor` evaluator. Categorical knobs enter through an exponentiated Hamming kernel,
// numeric features (standardised) through a squared-exponential one:
//   k(a, b) = exp(-theta_c * hamming(a, b) / K  -  theta_n * |a_n - b_n|^2 / N)
// on standardised targets, plus a noise term. The hyperparameters maximise the marginal
// likelihood over a small grid. Predictions give a mean and a standard deviation, so an
// acquisition can weigh how sure the model is.
#pragma once

#include <Eigen/Dense>
#include <iosfwd>
#include <string>
#include <vector>

namespace hwnas {

struct GpInput {
  std::vector<int> categorical;  // one choice index per knob
  std::vector<double> numeric;   // e.g. log latency, log MACs
};

struct GpPrediction {
  double mean = 0;
  double stddev = 0;
};

class GaussianProcess {
 public:
  struct Hyperparameters {
    double theta_categorical = 1;
    double theta_numeric = 0;
    double noise = 1e-2;
  };

  // Needs at least two points; all inputs alike in length. Without `fixed`, the
  // hyperparameters maximise the marginal likelihood over the grid (about 70 factorisations);
  // with it, one factorisation.
  void Fit(const std::vector<GpInput>& inputs, const std::vector<double>& targets,
           const Hyperparameters* fixed = nullptr);
  Hyperparameters hyperparameters() const { return {theta_c_, theta_n_, noise_}; }
  struct ScoredHyperparameters {
    Hyperparameters hyperparameters;
    double log_likelihood = 0;
  };
  // Every grid point of the last search, most likely first; empty after a fit with `fixed`.
  const std::vector<ScoredHyperparameters>& searched() const { return searched_; }
  GpPrediction Predict(const GpInput& input) const;
  bool fitted() const { return !inputs_.empty(); }
  size_t categorical_size() const { return inputs_.at(0).categorical.size(); }
  size_t numeric_size() const { return numeric_mean_.size(); }

  // Text, read back exactly (hex floats). The file around it (version, checksum) is the
  // AccuracyPredictor's. Read returns false on malformed input.
  void Write(std::ostream& out) const;
  static bool Read(std::istream& in, GaussianProcess& gp);


 private:
  double Kernel(const GpInput& a, const GpInput& b) const;
  std::vector<double> Standardise(const std::vector<double>& numeric) const;
  void Factorise(const std::vector<double>& targets);

  std::vector<GpInput> inputs_;  // numeric parts standardised
  std::vector<double> numeric_mean_, numeric_scale_;
  double target_mean_ = 0, target_scale_ = 1;
  double theta_c_ = 1, theta_n_ = 0, noise_ = 1e-2;
  Eigen::LLT<Eigen::MatrixXd> cholesky_;
  Eigen::VectorXd alpha_;
  std::vector<double> targets_;  // raw, kept for Save
  std::vector<ScoredHyperparameters> searched_;
};

}  // namespace hwnas
