#include "evaluator/dataset.h"

#include <numeric>

#include "core/errors.h"
#include "evaluator/idx_file.h"

namespace hwnas {

Dataset LoadIdxDataset(const std::string& images_path, const std::string& labels_path,
                       int num_classes) {
  HWNAS_CHECK(num_classes > 0);
  const IdxArray images = ReadIdxFile(images_path);
  const IdxArray labels = ReadIdxFile(labels_path);
  const auto& d = images.dims;
  if (d.size() != 3 && d.size() != 4) {
    throw IoError(images_path + ": an image file needs 3 dimensions (N x H x W) or 4 " +
                  "(N x C x H x W), this one has " + std::to_string(d.size()));
  }
  if (labels.dims.size() != 1) {
    throw IoError(labels_path + ": a label file needs 1 dimension (N), this one has " +
                  std::to_string(labels.dims.size()));
  }
  if (labels.dims[0] != d[0]) {
    throw IoError(labels_path + ": " + std::to_string(labels.dims[0]) + " labels for " +
                  std::to_string(d[0]) + " images in " + images_path);
  }

  Dataset data;
  data.num_classes = num_classes;
  data.shape = d.size() == 3 ? ImageShape{1, static_cast<int>(d[1]), static_cast<int>(d[2])}
                             : ImageShape{static_cast<int>(d[1]), static_cast<int>(d[2]),
                                          static_cast<int>(d[3])};
  using ByteMatrix = Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  data.images =
      Eigen::Map<const ByteMatrix>(images.values.data(), d[0], data.shape.size()).cast<float>() /
      255.0f;
  data.labels.assign(labels.values.begin(), labels.values.end());
  for (size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] >= num_classes) {
      throw IoError(labels_path + ": label " + std::to_string(data.labels[i]) + " of example " +
                    std::to_string(i) + " is outside 0.." + std::to_string(num_classes - 1));
    }
  }
  return data;
}

Dataset Subset(const Dataset& data, const std::vector<int64_t>& indices) {
  Dataset subset;
  subset.shape = data.shape;
  subset.num_classes = data.num_classes;
  subset.images.resize(static_cast<Eigen::Index>(indices.size()), data.images.cols());
  subset.labels.reserve(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    subset.images.row(static_cast<Eigen::Index>(i)) = data.images.row(indices[i]);
    subset.labels.push_back(data.labels[static_cast<size_t>(indices[i])]);
  }
  return subset;
}

std::vector<int64_t> ShuffledIndices(int64_t n, Rng rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Below(static_cast<uint64_t>(i) + 1)]);
  }
  return order;
}

}  // namespace hwnas
