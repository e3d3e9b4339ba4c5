// Accuracy predicted from a candidate's choices and its space's features: a Gaussian process
// on the rank-warped error (100 - accuracy). The `guided` sampler fits one online; `hwnas
// predictor fit` saves one from a run's evaluations for the `predictor` evaluator kind.
#pragma once

#include <string>
#include <vector>

#include "evaluator/gaussian_process.h"
#include "evaluator/rank_warp.h"

namespace hwnas {

class AccuracyPredictor {
 public:
  // Needs at least two points. `fixed` skips the hyperparameter search (see GaussianProcess).
  void Fit(const std::vector<GpInput>& inputs, const std::vector<double>& accuracies,
           const GaussianProcess::Hyperparameters* fixed = nullptr);
  GaussianProcess::Hyperparameters hyperparameters() const { return gp_.hyperparameters(); }
  const std::vector<GaussianProcess::ScoredHyperparameters>& searched() const {
    return gp_.searched();
  }

  // The warped error score: mean and deviation in the GP's space; map with warp().Inverse.
  GpPrediction PredictScore(const GpInput& input) const { return gp_.Predict(input); }
  double PredictAccuracy(const GpInput& input) const;
  const RankWarp& warp() const { return warp_; }
  size_t knobs() const { return gp_.categorical_size(); }
  size_t features() const { return gp_.numeric_size(); }

  // A versioned, checksummed text file; another version, a bad checksum or a truncated file
  // is an IoError naming the file. Predictions round-trip exactly.
  void Save(const std::string& path, const std::string& space_name) const;
  static AccuracyPredictor Load(const std::string& path, std::string* space_name = nullptr);

 private:
  RankWarp warp_;
  GaussianProcess gp_;
};

}  // namespace hwnas
