#include "evaluator/rank_warp.h"

#include <algorithm>
#include <cmath>

namespace hwnas {

RankWarp::RankWarp(std::vector<double> values) : sorted_(std::move(values)) {
  std::sort(sorted_.begin(), sorted_.end());
  for (size_t i = 0; i < sorted_.size(); ++i) scores_.push_back(Score(static_cast<double>(i)));
}

double RankWarp::Forward(double value) const {
  // Ties share the mean score of their ranks.
  const auto lo = std::lower_bound(sorted_.begin(), sorted_.end(), value) - sorted_.begin();
  const auto hi = std::upper_bound(sorted_.begin(), sorted_.end(), value) - sorted_.begin();
  // A value beyond the observed ones scores as the extreme rank, not as an infinite logit.
  const double last = static_cast<double>(sorted_.size() - 1);
  return Score(std::clamp(0.5 * static_cast<double>(lo + hi - 1), 0.0, last));
}

double RankWarp::Inverse(double score) const {
  const size_t n = scores_.size();
  if (n == 1) return sorted_[0];
  if (score <= scores_[0] || score >= scores_[n - 1]) {
    const size_t reach = std::min<size_t>(n - 1, 4);
    const double body = Slope(n / 4, n - 1 - n / 4);
    if (score <= scores_[0]) {
      return sorted_[0] + std::max(body, Slope(0, reach)) * (score - scores_[0]);
    }
    return sorted_[n - 1] + std::max(body, Slope(n - 1 - reach, n - 1)) * (score - scores_[n - 1]);
  }
  const size_t i = std::upper_bound(scores_.begin(), scores_.end(), score) - scores_.begin();
  return Line(i - 1, i, score);
}

double RankWarp::Score(double rank) const {
  const double p = (rank + 0.5) / static_cast<double>(sorted_.size());
  return std::log(p / (1 - p));
}

double RankWarp::Line(size_t a, size_t b, double score) const {
  return sorted_[a] + Slope(a, b) * (score - scores_[a]);
}

double RankWarp::Slope(size_t a, size_t b) const {
  return (sorted_[b] - sorted_[a]) / (scores_[b] - scores_[a]);
}

}  // namespace hwnas
