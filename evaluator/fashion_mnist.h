// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28 x 28 grey images of clothing in 10 classes,
// 60000 for training and 10000 for testing, in the four IDX files the Debian package
// dataset-fashion-mnist installs.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "evaluator/dataset.h"

namespace hwnas {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Class names by label.
inline constexpr std::array<std::string_view, 10> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte from `dir`, each as NAME.gz or, failing that, NAME. A missing file is
// an IoError naming it and the package to install.
TrainTestSets LoadFashionMnist(const std::string& dir = kFashionMnistDir);

}  // namespace hwnas
