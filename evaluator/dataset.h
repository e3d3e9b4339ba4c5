// A labelled image data set held in memory: one image per row of a float matrix, in NCHW order
// (channel planes, each row-major), ready to feed the nn engine batch by batch.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace hwnas {

using ImageMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct ImageShape {
  int channels = 0;
  int height = 0;
  int width = 0;

  // The values of one image: the row length of an ImageMatrix.
  int64_t size() const { return int64_t{channels} * height * width; }
  bool operator==(const ImageShape&) const = default;
};

struct Dataset {
  ImageMatrix images;       // size() x shape.size()
  std::vector<int> labels;  // in [0, num_classes), one per row of images
  ImageShape shape;
  int num_classes = 0;

  int64_t size() const { return images.rows(); }
};

// A data set as published: the labelled training images and the test images.
struct TrainTestSets {
  Dataset train;
  Dataset test;
};

// Reads an image file (IDX, N x H x W for one channel or N x C x H x W) and its label file
// (IDX, N), each gzip'd or plain. Pixels are scaled from 0..255 to [0, 1]. Throws IoError naming
// the files when their counts differ, a label is outside [0, num_classes) or a file has the
// wrong number of dimensions, besides ReadIdxFile's errors.
Dataset LoadIdxDataset(const std::string& images_path, const std::string& labels_path,
                       int num_classes);

// The examples at `indices`, in that order.
Dataset Subset(const Dataset& data, const std::vector<int64_t>& indices);

// A permutation of 0..n-1 (Fisher-Yates on Rng::Below): the same on every platform, which
// std::shuffle does not promise.
std::vector<int64_t> ShuffledIndices(int64_t n, Rng rng);

}  // namespace hwnas
