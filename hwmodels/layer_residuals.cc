#include "hwmodels/layer_residuals.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace hwnas {

namespace {

// A unit's position in shape space: sizes on a log scale (a layer twice as wide is one step
// away), kernel and stride linear, and batch far apart so that another batch size is used
// only where the unit's own batch size was never measured. Chosen by leave-one-network-out
// cross-validation on the H100 networks the calibration fits on (hwmodels/README.md).
std::array<double, 6> Position(const UnitShape& shape) {
  auto log2_of = [](int value) { return std::log2(std::max(value, 1)); };
  return {log2_of(shape[0]), log2_of(shape[1]), log2_of(shape[2]), static_cast<double>(shape[3]),
          2.0 * shape[4], 4.0 * log2_of(shape[5])};
}

// Keeps an exact match from taking all the weight, so one noisy measurement is not copied.
constexpr double kDistanceFloor = 0.05;

}  // namespace

void LayerResiduals::Add(const UnitSignature& unit, double log_ratio) {
  points_[unit.ops].push_back({unit.shape, Position(unit.shape), log_ratio});
}

size_t LayerResiduals::size() const {
  size_t count = 0;
  for (const auto& [ops, points] : points_) count += points.size();
  return count;
}

double LayerResiduals::Factor(const UnitSignature& unit) const {
  const auto it = points_.find(unit.ops);
  if (it == points_.end()) return 1.0;
  const auto query = Position(unit.shape);
  std::vector<std::pair<double, double>> nearest;  // (squared distance, log ratio)
  nearest.reserve(it->second.size());
  for (const Point& point : it->second) {
    double distance = 0;
    for (size_t i = 0; i < query.size(); ++i) {
      distance += (point.position[i] - query[i]) * (point.position[i] - query[i]);
    }
    nearest.emplace_back(distance, point.log_ratio);
  }
  const size_t k = std::min(nearest.size(), static_cast<size_t>(neighbours_));
  std::partial_sort(nearest.begin(), nearest.begin() + static_cast<long>(k), nearest.end());
  double weighted = 0;
  double weights = 0;
  for (size_t i = 0; i < k; ++i) {
    const double weight = 1.0 / (nearest[i].first + kDistanceFloor);
    weighted += weight * nearest[i].second;
    weights += weight;
  }
  return std::exp(weighted / weights);
}

LayerResiduals LayerResiduals::Parse(const ConfigNode& residuals) {
  residuals.ExpectKeys({"neighbours", "units"});
  LayerResiduals parsed(static_cast<int>(residuals.Int("neighbours", 1, 64)));
  const ConfigNode units = residuals.Child("units");
  for (const auto& ops : units.Keys()) {
    const ConfigNode list = units.Child(ops);
    if (ops.find('/') == std::string::npos) {
      list.Fail("'" + ops + "': a unit's ops end in /precision, e.g. pointwise+bn+relu/fp16");
    }
    for (const ConfigNode& item : list.Items()) {
      const auto values = item.Items();
      if (values.size() != 7) {
        item.Fail("a residual is [cin, cout, hw, k, stride, batch, log(measured/predicted)]");
      }
      UnitSignature unit{ops, {}};
      for (size_t i = 0; i < unit.shape.size(); ++i) {
        unit.shape[i] = static_cast<int>(values[i].AsInt(1, 1 << 24));
      }
      parsed.Add(unit, values[6].AsDouble(-10, 10));
    }
  }
  return parsed;
}

std::string LayerResiduals::Yaml() const {
  std::ostringstream out;
  out << "residuals:\n  neighbours: " << neighbours_ << "\n  units:\n";
  for (const auto& [ops, points] : points_) {
    out << "    " << ops << ":\n";
    for (const Point& point : points) {
      out << "      - [";
      for (int value : point.shape) out << value << ", ";
      out << std::fixed << std::setprecision(4) << point.log_ratio << std::defaultfloat << "]\n";
    }
  }
  return out.str();
}

}  // namespace hwnas
