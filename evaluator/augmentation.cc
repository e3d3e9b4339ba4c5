#include "evaluator/augmentation.h"

#include <vector>

#include "core/errors.h"

namespace hwnas {

void AugmentBatch(const AugmentOptions& options, const ImageShape& shape, Rng rng,
                  ImageMatrix& batch) {
  HWNAS_CHECK(batch.cols() == shape.size() && options.crop_padding >= 0);
  const int pad = options.crop_padding;
  const int h = shape.height;
  const int w = shape.width;
  std::vector<float> source(static_cast<size_t>(shape.size()));
  for (Eigen::Index r = 0; r < batch.rows(); ++r) {
    Rng row_rng = rng.Fork(static_cast<uint64_t>(r));
    const int dy = static_cast<int>(row_rng.Below(2 * pad + 1)) - pad;
    const int dx = static_cast<int>(row_rng.Below(2 * pad + 1)) - pad;
    const bool flip = options.horizontal_flip && row_rng.Below(2) == 1;
    float* image = batch.row(r).data();
    std::copy(image, image + shape.size(), source.begin());
    // Output pixel (y, x) is source pixel (y + dy, x' + dx), x' mirrored when flipping.
    for (int c = 0; c < shape.channels; ++c) {
      const float* plane = source.data() + int64_t{c} * h * w;
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const int sy = y + dy;
          const int sx = (flip ? w - 1 - x : x) + dx;
          const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          *image++ = inside ? plane[sy * w + sx] : 0.0f;
        }
      }
    }
  }
}

}  // namespace hwnas
