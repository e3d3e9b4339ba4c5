#include "nn/tensor.h"

#include "core/errors.h"

namespace hwnas {

std::string Shape::ToString() const {
  return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
         std::to_string(w);
}

Tensor::Tensor(Shape s, Eigen::ArrayXf v) : shape(s), values(std::move(v)) {
  HWNAS_CHECK(values.size() == shape.Size());
}

}  // namespace hwnas
