#include "evaluator/fashion_mnist.h"

#include <filesystem>

#include "core/errors.h"

namespace hwnas {
namespace {

namespace fs = std::filesystem;

// NAME.gz in `dir`, else NAME as left by gunzip.
std::string FilePath(const std::string& dir, const std::string& name) {
  const fs::path gzipped = fs::path(dir) / (name + ".gz");
  const fs::path plain = fs::path(dir) / name;
  if (fs::exists(gzipped)) return gzipped.string();
  if (fs::exists(plain)) return plain.string();
  throw IoError(gzipped.string() + ": no such file (nor " + name +
                "); install the Debian package dataset-fashion-mnist or name the directory "
                "that holds the Fashion-MNIST files");
}

Dataset Load(const std::string& dir, const std::string& prefix) {
  // Images first, so a missing directory is reported by its first file.
  const std::string images = FilePath(dir, prefix + "-images-idx3-ubyte");
  const std::string labels = FilePath(dir, prefix + "-labels-idx1-ubyte");
  return LoadIdxDataset(images, labels, static_cast<int>(kFashionMnistClasses.size()));
}

}  // namespace

TrainTestSets LoadFashionMnist(const std::string& dir) {
  return {Load(dir, "train"), Load(dir, "t10k")};
}

}  // namespace hwnas
