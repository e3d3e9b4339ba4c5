// Pareto tools on minimisation objectives: dominance, fast non-dominated sorting (Deb et al.
// 2002), crowding distance, and exact hypervolume for 2 and 3 objectives. Shared by the
// samplers, the run's fronts, and the benchmarks.
#pragma once

#include <vector>

namespace hwnas {

using Objectives = std::vector<double>;  // every objective is minimised

// a is no worse than b everywhere and better somewhere.
bool Dominates(const Objectives& a, const Objectives& b);

// Indices of the non-dominated points, in input order. Duplicated points are all kept.
std::vector<int> ParetoFront(const std::vector<Objectives>& points);

// Fronts of indices: fronts[0] is the non-dominated set, fronts[1] is non-dominated once
// fronts[0] is removed, and so on.
std::vector<std::vector<int>> NonDominatedSort(const std::vector<Objectives>& points);

// Crowding distance of each member of `front` (same order); boundary points get infinity.
std::vector<double> CrowdingDistance(const std::vector<Objectives>& points,
                                     const std::vector<int>& front);

// Volume dominated by `points` and bounded by `reference` (points not strictly better than the
// reference in every objective add nothing). Exact for 1, 2 and 3 objectives.
double Hypervolume(std::vector<Objectives> points, const Objectives& reference);

}  // namespace hwnas
