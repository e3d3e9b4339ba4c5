// Layers and networks by shape, for the device-model tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/network_spec.h"

namespace hwnas::test {

inline Layer Conv(int cin, int cout, int k, int h, int stride = 1, int groups = 1) {
  Layer layer;
  layer.op = LayerOp::kConv;
  layer.cin = cin;
  layer.cout = cout;
  layer.kernel = k;
  layer.stride = stride;
  layer.groups = groups;
  layer.padding = k / 2;
  layer.h_in = h;
  return layer;
}

// Batch norm, activations and adds keep the shape; global pooling pools the whole input.
inline Layer Elementwise(LayerOp op, int channels, int h) {
  Layer layer{op, channels, channels, 1, 1, 1, 0, h, {}};
  if (op == LayerOp::kGlobalAvgPool) layer.kernel = h;
  return layer;
}

inline Layer Linear(int cin, int cout) { return {LayerOp::kLinear, cin, cout, 1, 1, 1, 0, 1, {}}; }

inline NetworkSpec Net(std::vector<Layer> layers, std::string key = "fixture") {
  NetworkSpec spec;
  spec.key = std::move(key);
  spec.in_channels = layers[0].cin;
  spec.in_size = layers[0].h_in;
  spec.classes = 10;
  spec.layers = std::move(layers);
  return spec;
}

}  // namespace hwnas::test
