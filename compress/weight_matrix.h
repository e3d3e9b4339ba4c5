// The one weight layout every compress function takes: a layer's weights as a row-major
// Cout x (Cin*k*k) matrix (a linear layer: out x in). A row is an output channel; its columns
// run over the input channels, each spanning k*k kernel positions (PyTorch's weight.view(Cout,
// -1) order). Activations are flat Eigen::ArrayXf (or a Map of one).
#pragma once

#include <Eigen/Dense>

namespace hwnas {

using WeightMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// Binds a WeightMatrix, a Map of a layer's buffer or a block of rows without copying.
using ConstWeightRef = Eigen::Ref<const WeightMatrix>;
using WeightRef = Eigen::Ref<WeightMatrix>;

}  // namespace hwnas
