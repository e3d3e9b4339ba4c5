#include "evaluator/idx_file.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/rng.h"
#include "evaluator/dataset.h"
#include "evaluator/fashion_mnist.h"
#include "test_util.h"

namespace hwnas {
namespace {

using test::TempDir;
using test::ThrowsWith;

// The bytes of an IDX file: magic, big-endian dimensions, values.
std::string IdxBytes(const std::vector<int64_t>& dims, const std::vector<uint8_t>& values,
                     uint8_t type = 0x08) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (const int64_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(d >> shift);
  }
  return bytes + std::string(values.begin(), values.end());
}

// Writes `bytes` gzip'd, as gzip(1) would, and returns the path.
std::string WriteGzip(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.File(name);
  gzFile file = gzopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("cannot write " + path);
  const int written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(file) != Z_OK || written != static_cast<int>(bytes.size())) {
    throw std::runtime_error("cannot write " + path);
  }
  return path;
}

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> values(n);
  for (auto& v : values) v = static_cast<uint8_t>(rng.Below(256));
  return values;
}

TEST(IdxFile, RoundTripsDimsAndValues) {
  TempDir dir;
  const std::vector<uint8_t> values = RandomBytes(3 * 2 * 4, 1);
  const IdxArray array = ReadIdxFile(dir.Write("fixture.idx", IdxBytes({3, 2, 4}, values)));
  EXPECT_EQ(array.dims, (std::vector<int64_t>{3, 2, 4}));
  EXPECT_EQ(array.values, values);
}

TEST(IdxFile, DimensionsAreBigEndian) {
  TempDir dir;
  const IdxArray array =
      ReadIdxFile(dir.Write("fixture.idx", IdxBytes({258, 1}, std::vector<uint8_t>(258, 7))));
  EXPECT_EQ(array.dims, (std::vector<int64_t>{258, 1}));
}

// The names say the opposite of the contents: gzip is told by its magic bytes.
TEST(IdxFile, GzipAndPlainGiveIdenticalData) {
  TempDir dir;
  const std::string bytes = IdxBytes({100, 28, 28}, RandomBytes(100 * 28 * 28, 2));
  const IdxArray plain = ReadIdxFile(dir.Write("fixture_plain.idx.gz", bytes));
  const IdxArray gzipped = ReadIdxFile(WriteGzip(dir, "fixture_gzipped.idx", bytes));
  EXPECT_EQ(gzipped.dims, plain.dims);
  EXPECT_EQ(gzipped.values, plain.values);
}

TEST(IdxFile, ReadsConcatenatedGzipMembers) {
  TempDir dir;
  const std::string bytes = IdxBytes({6, 5}, RandomBytes(30, 3));
  const std::string head = test::ReadFile(WriteGzip(dir, "fixture_head.gz", bytes.substr(0, 10)));
  const std::string tail = test::ReadFile(WriteGzip(dir, "fixture_tail.gz", bytes.substr(10)));
  const IdxArray array = ReadIdxFile(dir.Write("fixture_members.gz", head + tail));
  EXPECT_EQ(array.dims, (std::vector<int64_t>{6, 5}));
  EXPECT_EQ(std::string(array.values.begin(), array.values.end()), bytes.substr(4 + 2 * 4));
}

TEST(IdxFile, BadMagicNamesTheFile) {
  TempDir dir;
  std::string bytes = IdxBytes({2}, {1, 2});
  bytes[0] = 0x50;
  const std::string path = dir.Write("fixture_bad_magic.idx", bytes);
  EXPECT_TRUE(ThrowsWith<IoError>([&] { ReadIdxFile(path); },
                                  {path, ": bad magic number 50 00 08 01, not an IDX file"}));
  const std::string unknown_type =
      dir.Write("fixture_unknown_type.idx", IdxBytes({2}, {1, 2}, 0x42));
  EXPECT_TRUE(ThrowsWith<IoError>([&] { ReadIdxFile(unknown_type); },
                                  {unknown_type, "bad magic number 00 00 42 01"}));
  const std::string gzipped = WriteGzip(dir, "fixture_bad_magic.gz", bytes);
  EXPECT_TRUE(ThrowsWith<IoError>([&] { ReadIdxFile(gzipped); }, {gzipped, "bad magic number"}));
}

TEST(IdxFile, UnsupportedTypeByteIsNamed) {
  TempDir dir;
  const std::string path = dir.Write("fixture_float.idx", IdxBytes({1}, {0, 0, 128, 63}, 0x0D));
  EXPECT_TRUE(ThrowsWith<UnsupportedError>(
      [&] { ReadIdxFile(path); },
      {path, ": IDX type 0x0d (float32) is not supported, only 0x08 (unsigned byte)"}));
}

TEST(IdxFile, TruncatedDataNamesTheFile) {
  TempDir dir;
  const std::string path = dir.Write("fixture_short.idx", IdxBytes({10, 4}, RandomBytes(30, 4)));
  EXPECT_TRUE(ThrowsWith<IoError>(
      [&] { ReadIdxFile(path); },
      {path, ": truncated: dimensions 10 x 4 take 40 bytes of data, the file has 30"}));
  const std::string header =
      dir.Write("fixture_short_header.idx", IdxBytes({10, 4}, {}).substr(0, 9));
  EXPECT_TRUE(ThrowsWith<IoError>(
      [&] { ReadIdxFile(header); },
      {header, ": truncated IDX header (2 dimensions take 12 bytes, the file has 9)"}));
  const std::string empty = dir.Write("fixture_empty.idx", "");
  EXPECT_TRUE(ThrowsWith<IoError>([&] { ReadIdxFile(empty); }, {empty, ": truncated IDX header"}));
}

TEST(IdxFile, TrailingBytesAreAnError) {
  TempDir dir;
  const std::string path = dir.Write("fixture_long.idx", IdxBytes({3, 2}, RandomBytes(8, 5)));
  EXPECT_TRUE(
      ThrowsWith<IoError>([&] { ReadIdxFile(path); },
                          {path, ": dimensions 3 x 2 take 6 bytes of data, the file has 8"}));
}

// A whole IDX file in a gzip stream cut short, both inside the deflate data and in the trailer.
TEST(IdxFile, TruncatedGzipStreamNamesTheFile) {
  TempDir dir;
  const std::string whole =
      test::ReadFile(WriteGzip(dir, "fixture_whole.gz", IdxBytes({50, 20}, RandomBytes(1000, 6))));
  for (const size_t keep : {whole.size() / 2, whole.size() - 4}) {
    const std::string path = dir.Write("fixture_cut.gz", whole.substr(0, keep));
    EXPECT_TRUE(ThrowsWith<IoError>(
        [&] { ReadIdxFile(path); },
        {path, ": truncated gzip stream (the file ends before the stream does)"}));
  }
}

TEST(IdxFile, CorruptGzipStreamNamesTheFile) {
  TempDir dir;
  std::string bytes =
      test::ReadFile(WriteGzip(dir, "fixture_whole.gz", IdxBytes({50, 20}, RandomBytes(1000, 7))));
  bytes[bytes.size() - 6] ^= 0x55;  // inside the CRC-32 of the trailer
  const std::string path = dir.Write("fixture_corrupt.gz", bytes);
  EXPECT_TRUE(ThrowsWith<IoError>([&] { ReadIdxFile(path); },
                                  {path, ": corrupt gzip stream (incorrect data check)"}));
}

TEST(IdxFile, MissingFileNamesIt) {
  TempDir dir;
  const std::string path = dir.File("fixture_missing.idx");
  EXPECT_TRUE(ThrowsWith<IoError>([&] { ReadIdxFile(path); }, {path, ": cannot open file"}));
}

TEST(LoadIdxDataset, ScalesPixelsAndReadsLabels) {
  TempDir dir;
  const std::vector<uint8_t> pixels = RandomBytes(5 * 3 * 4, 8);
  const std::string images = WriteGzip(dir, "fixture_images.gz", IdxBytes({5, 3, 4}, pixels));
  const std::string labels = dir.Write("fixture_labels.idx", IdxBytes({5}, {0, 2, 1, 2, 0}));
  const Dataset data = LoadIdxDataset(images, labels, 3);
  EXPECT_EQ(data.size(), 5);
  EXPECT_EQ(data.shape, (ImageShape{1, 3, 4}));
  EXPECT_EQ(data.num_classes, 3);
  EXPECT_EQ(data.labels, (std::vector<int>{0, 2, 1, 2, 0}));
  ASSERT_EQ(data.images.cols(), 12);
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 12; ++j) EXPECT_EQ(data.images(i, j), pixels[i * 12 + j] / 255.0f);
  }
}

TEST(LoadIdxDataset, FourDimensionsAreNchw) {
  TempDir dir;
  const std::vector<uint8_t> pixels = RandomBytes(2 * 3 * 2 * 2, 9);
  const Dataset data =
      LoadIdxDataset(dir.Write("fixture_images.idx", IdxBytes({2, 3, 2, 2}, pixels)),
                     dir.Write("fixture_labels.idx", IdxBytes({2}, {1, 0})), 2);
  EXPECT_EQ(data.shape, (ImageShape{3, 2, 2}));
  EXPECT_EQ(data.images(1, 4), pixels[12 + 4] / 255.0f);  // image 1, channel 1, pixel (0, 0)
}

TEST(LoadIdxDataset, CountMismatchNamesBothFiles) {
  TempDir dir;
  const std::string images =
      dir.Write("fixture_images.idx", IdxBytes({5, 2, 2}, RandomBytes(20, 10)));
  const std::string labels = dir.Write("fixture_labels.idx", IdxBytes({4}, {0, 1, 0, 1}));
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadIdxDataset(images, labels, 2); },
                                  {labels + ": 4 labels for 5 images in " + images}));
}

TEST(LoadIdxDataset, BadShapesAndLabelsNameTheFile) {
  TempDir dir;
  const std::string images =
      dir.Write("fixture_images.idx", IdxBytes({2, 2, 2}, RandomBytes(8, 11)));
  const std::string labels = dir.Write("fixture_labels.idx", IdxBytes({2}, {0, 3}));
  EXPECT_TRUE(ThrowsWith<IoError>([&] { LoadIdxDataset(images, labels, 3); },
                                  {labels + ": label 3 of example 1 is outside 0..2"}));
  const std::string flat = dir.Write("fixture_flat.idx", IdxBytes({2, 4}, RandomBytes(8, 12)));
  EXPECT_TRUE(ThrowsWith<IoError>(
      [&] { LoadIdxDataset(flat, labels, 4); },
      {flat +
       ": an image file needs 3 dimensions (N x H x W) or 4 (N x C x H x W), this one has 2"}));
  EXPECT_TRUE(
      ThrowsWith<IoError>([&] { LoadIdxDataset(images, images, 4); },
                          {images + ": a label file needs 1 dimension (N), this one has 3"}));
}

// The loader on a directory of tiny files under the real names, uncompressed as gunzip leaves
// them (the Debian package ships them gzip'd; the real files are checked in dataset_test.cc).
TEST(FashionMnist, ReadsUncompressedFilesToo) {
  TempDir dir;
  dir.Write("train-images-idx3-ubyte", IdxBytes({3, 28, 28}, RandomBytes(3 * 784, 13)));
  dir.Write("train-labels-idx1-ubyte", IdxBytes({3}, {9, 0, 0}));
  WriteGzip(dir, "t10k-images-idx3-ubyte.gz", IdxBytes({2, 28, 28}, RandomBytes(2 * 784, 14)));
  dir.Write("t10k-labels-idx1-ubyte", IdxBytes({2}, {9, 2}));
  const TrainTestSets sets = LoadFashionMnist(dir.path().string());
  EXPECT_EQ(sets.train.labels, (std::vector<int>{9, 0, 0}));
  EXPECT_EQ(sets.test.labels, (std::vector<int>{9, 2}));
  EXPECT_EQ(sets.test.shape, (ImageShape{1, 28, 28}));
  EXPECT_EQ(sets.test.num_classes, 10);
}

TEST(FashionMnist, MissingFileSaysWhatToInstall) {
  TempDir dir;
  const std::string expected = dir.File("train-images-idx3-ubyte.gz");
  EXPECT_TRUE(ThrowsWith<IoError>(
      [&] { LoadFashionMnist(dir.path().string()); },
      {expected + ": no such file (nor train-images-idx3-ubyte); install the Debian package "
                  "dataset-fashion-mnist"}));
}

}  // namespace
}  // namespace hwnas
