// What a calibrated roofline still gets wrong, layer by layer, learnt from measured layers.
// The roofline has one efficiency per op kind and precision, so every layer of a kind shares
// its errors, while cuDNN or oneDNN pick a different kernel per shape. Each measured layer the
// calibration fitted on leaves a residual, log(measured / roofline). A unit of a network (a
// layer with the batch norm and activation after it, as measured layer rows time it) then
// scales its roofline time by the distance-weighted mean residual of the k measured units of
// its signature nearest in shape: a k-nearest-neighbour kernel predictor on top of the
// roofline, in the spirit of nn-Meter's per-kernel predictors. A unit whose signature no
// measured layer has keeps the roofline's time.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "core/config_node.h"

namespace hwnas {

// A unit's shape: cin, cout, input height, kernel, stride and batch.
using UnitShape = std::array<int, 6>;

struct UnitSignature {
  std::string ops;  // the op run: "pointwise+bn+relu/fp16" (efficiency kind, then fused names)
  UnitShape shape{};

  // A conversion between widths, "convert/<from>-><to>", rather than a layer.
  bool IsConversion() const { return ops.starts_with("convert/"); }
};

class LayerResiduals {
 public:
  explicit LayerResiduals(int neighbours = 3) : neighbours_(neighbours) {}

  void Add(const UnitSignature& unit, double log_ratio);
  bool empty() const { return points_.empty(); }
  size_t size() const;
  int neighbours() const { return neighbours_; }

  // The factor a unit's roofline time is multiplied by; 1 when no unit of its ops was measured.
  double Factor(const UnitSignature& unit) const;

  // The `residuals:` mapping of a device YAML, and its text for `hwnas hw calibrate`.
  static LayerResiduals Parse(const ConfigNode& residuals);
  std::string Yaml() const;

 private:
  struct Point {
    UnitShape shape;
    std::array<double, 6> position;  // where the distance sees it, computed once
    double log_ratio;
  };
  int neighbours_;
  std::map<std::string, std::vector<Point>> points_;  // by UnitSignature::ops
};

}  // namespace hwnas
