#include "nn/tensor.h"

#include <malloc.h>

#include <mutex>

#include "core/errors.h"

namespace hwnas {

void KeepFreedActivationMemory() {
  static std::once_flag once;
  std::call_once(once, [] {
    constexpr int kLarge = 1 << 30;
    mallopt(M_MMAP_THRESHOLD, kLarge);
    mallopt(M_TRIM_THRESHOLD, kLarge);
  });
}

Tensor::Tensor(Shape s, Eigen::ArrayXf v) : shape(s), values(std::move(v)) {
  HWNAS_CHECK(values.size() == shape.Size());
}

}  // namespace hwnas
