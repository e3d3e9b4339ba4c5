#include "search/pareto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/rng.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::BruteDominates;
using test::BruteFront;

// n points of `dims` objectives. Small integer grids give many ties and exact duplicates.
std::vector<Objectives> RandomPoints(Rng& rng, size_t n, size_t dims, int grid) {
  std::vector<Objectives> points(n, Objectives(dims));
  for (auto& p : points) {
    for (auto& x : p) x = grid > 0 ? static_cast<double>(rng.Below(grid)) : rng.Uniform();
  }
  // Force some exact duplicates whatever the grid.
  for (size_t i = 0; i + 1 < n; i += 7) points[i + 1] = points[i];
  return points;
}

// The textbook layering: front k is the brute-force front of what fronts 0..k-1 left.
std::vector<std::vector<int>> BruteSort(const std::vector<Objectives>& points) {
  std::vector<bool> alive(points.size(), true);
  std::vector<std::vector<int>> fronts;
  while (std::count(alive.begin(), alive.end(), true) > 0) {
    fronts.push_back(BruteFront(points, alive));
    for (int i : fronts.back()) alive[i] = false;
  }
  return fronts;
}

// Exact hypervolume by inclusion-exclusion over every non-empty subset (n <= ~12): the union of
// the boxes [p, ref] has volume sum over S of (-1)^(|S|+1) * vol(intersection of S).
double InclusionExclusionHv(const std::vector<Objectives>& points, const Objectives& ref) {
  const size_t n = points.size();
  double total = 0;
  for (uint32_t mask = 1; mask < (1u << n); ++mask) {
    double volume = 1;
    for (size_t d = 0; d < ref.size(); ++d) {
      double corner = -std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < n; ++i) {
        if (mask & (1u << i)) corner = std::max(corner, points[i][d]);
      }
      volume *= std::max(0.0, ref[d] - corner);
    }
    total += (__builtin_popcount(mask) % 2 ? 1 : -1) * volume;
  }
  return total;
}

// Hypervolume on integer points by counting the unit cells [c, c + 1) some point dominates.
double GridCountHv(const std::vector<Objectives>& points, int side, size_t dims) {
  int64_t cells = 0;
  std::vector<int> c(dims, 0);
  while (true) {
    bool covered = false;
    for (const auto& p : points) {
      bool below = true;
      for (size_t d = 0; d < dims; ++d) below = below && p[d] <= c[d];
      covered = covered || below;
    }
    cells += covered;
    size_t d = 0;
    while (d < dims && ++c[d] == side) c[d++] = 0;
    if (d == dims) return static_cast<double>(cells);
  }
}

TEST(Dominates, HandCases) {
  EXPECT_TRUE(Dominates({1, 2}, {2, 2}));
  EXPECT_TRUE(Dominates({1, 1, 1}, {1, 1, 2}));
  EXPECT_FALSE(Dominates({1, 2}, {1, 2})) << "a point does not dominate its duplicate";
  EXPECT_FALSE(Dominates({1, 3}, {2, 2}));
  EXPECT_FALSE(Dominates({2, 2}, {1, 3}));
}

TEST(ParetoFront, MatchesBruteForceWithTiesAndDuplicates) {
  Rng rng(1);
  for (size_t dims : {2, 3, 4}) {
    for (int trial = 0; trial < 60; ++trial) {
      const size_t n = 1 + rng.Below(150);
      const int grid = trial % 3 == 0 ? 0 : 3 + static_cast<int>(rng.Below(8));
      const auto points = RandomPoints(rng, n, dims, grid);
      ASSERT_EQ(ParetoFront(points), BruteFront(points))
          << "dims " << dims << " trial " << trial << " n " << n << " grid " << grid;
    }
  }
  EXPECT_TRUE(ParetoFront({}).empty());
}

TEST(ParetoFront, KeepsAllDuplicatesOfAFrontPoint) {
  const std::vector<Objectives> points = {{1, 5}, {2, 2}, {2, 2}, {3, 3}, {5, 1}, {2, 2}};
  EXPECT_EQ(ParetoFront(points), (std::vector<int>{0, 1, 2, 4, 5}));
}

TEST(NonDominatedSort, MatchesBruteForceLayering) {
  Rng rng(2);
  for (size_t dims : {2, 3, 4}) {
    for (int trial = 0; trial < 40; ++trial) {
      const size_t n = 1 + rng.Below(120);
      const auto points = RandomPoints(rng, n, dims, trial % 2 ? 4 : 0);
      const auto fronts = NonDominatedSort(points);
      auto sorted = fronts;
      for (auto& f : sorted) std::sort(f.begin(), f.end());
      ASSERT_EQ(sorted, BruteSort(points)) << "dims " << dims << " trial " << trial;
      // Every index appears exactly once.
      std::vector<int> all;
      for (const auto& f : fronts) all.insert(all.end(), f.begin(), f.end());
      std::sort(all.begin(), all.end());
      ASSERT_EQ(all.size(), n);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(all[i], static_cast<int>(i));
    }
  }
  EXPECT_TRUE(NonDominatedSort({}).empty());
}

TEST(CrowdingDistance, HandCheckedFront) {
  // Front (0,5) (1,3) (3,2) (6,0) given out of order, with a non-member point at index 0.
  const std::vector<Objectives> points = {{9, 9}, {3, 2}, {0, 5}, {6, 0}, {1, 3}};
  const std::vector<int> front = {1, 2, 3, 4};
  const auto d = CrowdingDistance(points, front);
  ASSERT_EQ(d.size(), 4u);
  const double inf = std::numeric_limits<double>::infinity();
  // (3,2): x neighbours 1 and 6 over range 6; y neighbours 0 and 3 over range 5.
  EXPECT_DOUBLE_EQ(d[0], 5.0 / 6 + 3.0 / 5);
  EXPECT_EQ(d[1], inf);
  EXPECT_EQ(d[2], inf);
  // (1,3): x neighbours 0 and 3; y neighbours 2 and 5.
  EXPECT_DOUBLE_EQ(d[3], 3.0 / 6 + 3.0 / 5);
}

TEST(CrowdingDistance, SmallAndDegenerateFronts) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Objectives> points = {{1, 2}, {2, 1}, {1, 7}, {2, 7}, {3, 7}};
  EXPECT_EQ(CrowdingDistance(points, {0}), std::vector<double>{inf});
  EXPECT_EQ(CrowdingDistance(points, {0, 1}), (std::vector<double>{inf, inf}));
  EXPECT_TRUE(CrowdingDistance(points, {}).empty());
  // All equal in the second objective: it adds nothing (no division by a zero range), the first
  // still spreads them.
  const auto d = CrowdingDistance(points, {2, 3, 4});
  EXPECT_EQ(d[0], inf);
  EXPECT_DOUBLE_EQ(d[1], (3.0 - 1.0) / (3.0 - 1.0));
  EXPECT_EQ(d[2], inf);
}

TEST(Hypervolume, HandCases) {
  EXPECT_DOUBLE_EQ(Hypervolume({{1, 2}, {2, 1}}, {3, 3}), 3.0);
  EXPECT_DOUBLE_EQ(Hypervolume({{0, 0, 0}}, {2, 3, 4}), 24.0);
  EXPECT_DOUBLE_EQ(Hypervolume({{1, 1, 2}, {2, 2, 1}}, {3, 3, 3}), 4 + 1 * 1 * 2 - 1 * 1 * 1);
  EXPECT_DOUBLE_EQ(Hypervolume({{0.5}, {0.25}, {2}}, {1}), 0.75);  // 1-D: a segment
  EXPECT_EQ(Hypervolume({}, {1, 1}), 0.0);
  // Points on or beyond the reference add nothing.
  EXPECT_EQ(Hypervolume({{3, 0}, {0, 3}, {4, 4}}, {3, 3}), 0.0);
}

TEST(Hypervolume, MatchesInclusionExclusion) {
  Rng rng(3);
  for (size_t dims : {2, 3}) {
    for (int trial = 0; trial < 200; ++trial) {
      const size_t n = 1 + rng.Below(10);
      auto points = RandomPoints(rng, n, dims, trial % 2 ? 5 : 0);
      Objectives ref(dims, trial % 2 ? 4.0 : 0.9);  // some points lie beyond the reference
      const double exact = InclusionExclusionHv(points, ref);
      ASSERT_NEAR(Hypervolume(points, ref), exact, 1e-12 * std::max(1.0, exact))
          << "dims " << dims << " trial " << trial;
    }
  }
}

TEST(Hypervolume, MatchesGridCounting) {
  Rng rng(4);
  const int side = 8;
  for (size_t dims : {2, 3}) {
    for (int trial = 0; trial < 50; ++trial) {
      const auto points = RandomPoints(rng, 1 + rng.Below(40), dims, side);
      ASSERT_EQ(Hypervolume(points, Objectives(dims, side)), GridCountHv(points, side, dims))
          << "dims " << dims << " trial " << trial;
    }
  }
}

TEST(Hypervolume, DominatedPointsChangeNothing) {
  Rng rng(5);
  for (size_t dims : {2, 3}) {
    auto points = RandomPoints(rng, 30, dims, 0);
    const Objectives ref(dims, 1.0);
    const double before = Hypervolume(points, ref);
    const size_t n = points.size();
    for (size_t i = 0; i < n; ++i) {
      Objectives worse = points[i];
      for (auto& x : worse) x += 0.5 * rng.Uniform() * (1.0 - x);
      points.push_back(worse);
      points.push_back(points[i]);  // and an exact duplicate
    }
    EXPECT_NEAR(Hypervolume(points, ref), before, 1e-12) << "dims " << dims;
  }
}

TEST(Hypervolume, GrowsMonotonicallyAsPointsAreAdded) {
  Rng rng(6);
  for (size_t dims : {2, 3}) {
    std::vector<Objectives> points;
    const Objectives ref(dims, 1.0);
    double previous = 0;
    for (int i = 0; i < 200; ++i) {
      points.push_back(RandomPoints(rng, 1, dims, 0)[0]);
      const double hv = Hypervolume(points, ref);
      ASSERT_GE(hv, previous - 1e-15) << "dims " << dims << " after point " << i;
      ASSERT_LE(hv, 1.0 + 1e-12);
      previous = hv;
    }
    EXPECT_GT(previous, 0.5);  // 200 uniform points cover most of the unit box
  }
}

}  // namespace
}  // namespace hwnas
