#include "search/pareto.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/errors.h"

namespace hwnas {

bool Dominates(const Objectives& a, const Objectives& b) {
  bool better = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    better = better || a[i] < b[i];
  }
  return better;
}

std::vector<int> ParetoFront(const std::vector<Objectives>& points) {
  // Sorted lexicographically, a point can only be dominated by one before it, and then by a
  // member of the running front (dominance is transitive): O(n * front size).
  std::vector<int> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return points[a] < points[b]; });
  std::vector<int> front;
  for (int i : order) {
    bool dominated = false;
    for (int j : front) {
      if (Dominates(points[j], points[i])) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

std::vector<std::vector<int>> NonDominatedSort(const std::vector<Objectives>& points) {
  const size_t n = points.size();
  std::vector<std::vector<int>> dominated_by_me(n);
  std::vector<int> domination_count(n, 0);
  std::vector<std::vector<int>> fronts(1);
  for (size_t p = 0; p < n; ++p) {
    for (size_t q = p + 1; q < n; ++q) {
      if (Dominates(points[p], points[q])) {
        dominated_by_me[p].push_back(static_cast<int>(q));
        ++domination_count[q];
      } else if (Dominates(points[q], points[p])) {
        dominated_by_me[q].push_back(static_cast<int>(p));
        ++domination_count[p];
      }
    }
  }
  for (size_t p = 0; p < n; ++p) {
    if (domination_count[p] == 0) fronts[0].push_back(static_cast<int>(p));
  }
  while (true) {
    std::vector<int> next;
    for (int p : fronts.back()) {
      for (int q : dominated_by_me[p]) {
        if (--domination_count[q] == 0) next.push_back(q);
      }
    }
    if (next.empty()) break;
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(next));
  }
  if (fronts[0].empty()) fronts.clear();
  return fronts;
}

std::vector<double> CrowdingDistance(const std::vector<Objectives>& points,
                                     const std::vector<int>& front) {
  const size_t n = front.size();
  std::vector<double> distance(n, 0.0);
  if (n == 0) return distance;
  const double infinity = std::numeric_limits<double>::infinity();
  const size_t dims = points[front[0]].size();
  std::vector<size_t> order(n);
  for (size_t m = 0; m < dims; ++m) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return points[front[a]][m] < points[front[b]][m]; });
    const double lo = points[front[order.front()]][m];
    const double hi = points[front[order.back()]][m];
    distance[order.front()] = distance[order.back()] = infinity;
    if (hi <= lo) continue;
    for (size_t i = 1; i + 1 < n; ++i) {
      distance[order[i]] +=
          (points[front[order[i + 1]]][m] - points[front[order[i - 1]]][m]) / (hi - lo);
    }
  }
  return distance;
}

namespace {

// Area dominated by 2-D points (already strictly inside the reference box).
double Area2d(std::vector<Objectives> points, double ref_x, double ref_y) {
  std::sort(points.begin(), points.end());
  double area = 0.0;
  double best_y = ref_y;
  for (const auto& p : points) {
    if (p[1] < best_y) {
      area += (ref_x - p[0]) * (best_y - p[1]);
      best_y = p[1];
    }
  }
  return area;
}

}  // namespace

double Hypervolume(std::vector<Objectives> points, const Objectives& reference) {
  const size_t dims = reference.size();
  HWNAS_CHECK(dims >= 1 && dims <= 3);
  std::erase_if(points, [&](const Objectives& p) {
    HWNAS_CHECK(p.size() == dims);
    for (size_t i = 0; i < dims; ++i) {
      if (!(p[i] < reference[i])) return true;
    }
    return false;
  });
  if (dims == 1) {
    double best = reference[0];
    for (const auto& p : points) best = std::min(best, p[0]);
    return reference[0] - best;
  }
  if (dims == 2) return Area2d(std::move(points), reference[0], reference[1]);
  // 3-D: sweep along the third objective; between consecutive levels the dominated slice is the
  // 2-D area of the points at or below that level.
  std::sort(points.begin(), points.end(),
            [](const Objectives& a, const Objectives& b) { return a[2] < b[2]; });
  double volume = 0.0;
  std::vector<Objectives> slice;
  for (size_t i = 0; i < points.size(); ++i) {
    slice.push_back({points[i][0], points[i][1]});
    const double next = i + 1 < points.size() ? points[i + 1][2] : reference[2];
    if (next > points[i][2]) volume += Area2d(slice, reference[0], reference[1]) * (next - points[i][2]);
  }
  return volume;
}

}  // namespace hwnas
