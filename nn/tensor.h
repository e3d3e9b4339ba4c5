// A batch of feature maps in NCHW order, float32. A linear layer's output is N x C x 1 x 1.
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace hwnas {

struct Shape {
  int n = 0, c = 0, h = 1, w = 1;

  int64_t PerItem() const { return static_cast<int64_t>(c) * h * w; }
  int64_t Size() const { return n * PerItem(); }
  bool operator==(const Shape&) const = default;
};

// Row-major, so an item's C x (H*W) block and a weight's Cout x (Cin*k*k) matrix map directly.
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMatrix>;
using ConstRowMap = Eigen::Map<const RowMatrix>;

// Training allocates and frees tens of megabytes of activations per step. By default glibc
// serves such blocks with mmap and returns them on free, so every step pays page faults and
// zeroing for fresh pages; this keeps freed blocks in the heap for reuse instead. Process-wide
// and idempotent; BuildNetwork calls it.
void KeepFreedActivationMemory();

struct Tensor {
  Shape shape;
  Eigen::ArrayXf values;  // shape.Size() floats

  Tensor() = default;
  // Uninitialised values: every layer overwrites its whole output.
  explicit Tensor(Shape s) : shape(s), values(s.Size()) {}
  Tensor(Shape s, Eigen::ArrayXf v);

  float* Item(int i) { return values.data() + i * shape.PerItem(); }
  const float* Item(int i) const { return values.data() + i * shape.PerItem(); }
  // Item i as a C x (H*W) matrix.
  RowMap ItemMatrix(int i) { return RowMap(Item(i), shape.c, shape.h * shape.w); }
  ConstRowMap ItemMatrix(int i) const { return ConstRowMap(Item(i), shape.c, shape.h * shape.w); }
  // The whole batch as N x (C*H*W).
  RowMap BatchMatrix() { return RowMap(values.data(), shape.n, shape.PerItem()); }
  ConstRowMap BatchMatrix() const { return ConstRowMap(values.data(), shape.n, shape.PerItem()); }
};

}  // namespace hwnas
