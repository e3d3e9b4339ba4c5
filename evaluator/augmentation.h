// Training-time augmentation of a batch of images: a random crop of the image padded with zeros
// (a shift of up to `crop_padding` pixels each way) and a random horizontal flip. The padding is
// zeros in the batch's own units: after normalisation, the channel's mean.
#pragma once

#include "core/rng.h"
#include "evaluator/dataset.h"

namespace hwnas {

struct AugmentOptions {
  int crop_padding = 0;          // 2 suits 28 x 28 images
  bool horizontal_flip = false;  // mirror with probability 1/2

  bool enabled() const { return crop_padding > 0 || horizontal_flip; }
};

// Augments every image (row) of `batch` in place. Row r draws from rng.Fork(r) alone, so the
// result does not depend on how rows are shared among threads.
void AugmentBatch(const AugmentOptions& options, const ImageShape& shape, Rng rng,
                  ImageMatrix& batch);

}  // namespace hwnas
