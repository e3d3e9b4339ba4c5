// Shared by the compress tests: seeded weight matrices from several distributions, and a
// reference convolution to check that pruned and factorised layers compute what they should.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

#include "compress/weight_matrix.h"
#include "core/rng.h"

namespace hwnas::test {

// Standard normal by Box-Muller on the platform-stable generator.
inline float Normal(Rng& rng) {
  const double u = 1 - rng.Uniform();  // (0, 1]
  return static_cast<float>(std::sqrt(-2 * std::log(u)) *
                            std::cos(2 * std::numbers::pi * rng.Uniform()));
}

enum class Distribution { kGaussian, kUniform, kLaplace, kStudentT3, kGaussianWithOutliers };

inline const char* DistributionName(Distribution d) {
  switch (d) {
    case Distribution::kGaussian:
      return "gaussian";
    case Distribution::kUniform:
      return "uniform";
    case Distribution::kLaplace:
      return "laplace";
    case Distribution::kStudentT3:
      return "student_t3";
    case Distribution::kGaussianWithOutliers:
      return "gaussian_with_outliers";
  }
  return "?";
}

inline float Draw(Distribution d, Rng& rng) {
  switch (d) {
    case Distribution::kGaussian:
      return Normal(rng);
    case Distribution::kUniform:
      return static_cast<float>(2 * rng.Uniform() - 1);
    case Distribution::kLaplace: {
      const double u = rng.Uniform() - 0.5;
      return static_cast<float>(-std::copysign(1.0, u) * std::log(1 - 2 * std::abs(u)));
    }
    case Distribution::kStudentT3: {  // z / sqrt(chi2_3 / 3): heavy tails, finite variance
      double chi2 = 0;
      for (int i = 0; i < 3; ++i) chi2 += std::pow(Normal(rng), 2);
      return static_cast<float>(Normal(rng) / std::sqrt(chi2 / 3));
    }
    case Distribution::kGaussianWithOutliers:  // one weight in 500 at 20 sigma
      return rng.Below(500) == 0 ? 20 * Normal(rng) : Normal(rng);
  }
  return 0;
}

inline WeightMatrix RandomWeights(Eigen::Index rows, Eigen::Index cols, uint64_t seed,
                                  Distribution d = Distribution::kGaussian) {
  Rng rng(seed);
  WeightMatrix w(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) w(r, c) = Draw(d, rng);
  }
  return w;
}

// Columns of a C x (H*W) input for a valid k x k convolution with stride 1: row (c*k + i)*k + j
// holds channel c shifted by kernel tap (i, j), matching weight_matrix.h's column order.
inline Eigen::MatrixXf Im2Col(const Eigen::MatrixXf& input, int height, int width, int kernel) {
  const int out_h = height - kernel + 1, out_w = width - kernel + 1;
  Eigen::MatrixXf columns(input.rows() * kernel * kernel, out_h * out_w);
  for (Eigen::Index c = 0; c < input.rows(); ++c) {
    for (int i = 0; i < kernel; ++i) {
      for (int j = 0; j < kernel; ++j) {
        for (int y = 0; y < out_h; ++y) {
          for (int x = 0; x < out_w; ++x) {
            columns((c * kernel + i) * kernel + j, y * out_w + x) =
                input(c, (y + i) * width + x + j);
          }
        }
      }
    }
  }
  return columns;
}

// Cout x (H'*W'): the valid, stride-1 convolution of a C x (H*W) input by Cout x (C*k*k) weights.
inline Eigen::MatrixXf Conv(const WeightMatrix& weights, const Eigen::MatrixXf& input, int height,
                            int width, int kernel) {
  return weights * Im2Col(input, height, width, kernel);
}

}  // namespace hwnas::test
