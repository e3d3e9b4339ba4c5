// The kernels behind conv2d, for one group of one image: im2col and its adjoint for the GEMM
// path, and a direct convolution for the forward pass. Exposed for the tests, which check the
// direct kernel against im2col + GEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/layer.h"

namespace hwnas {

// One group's view of a conv: `channels` input channels of height x width.
struct ConvGeometry {
  int channels, height, width, kernel, stride, padding, out_height, out_width;

  int PaddedHeight() const { return height + 2 * padding; }
  int PaddedWidth() const { return width + 2 * padding; }
  int64_t PaddedSize() const { return int64_t{PaddedHeight()} * PaddedWidth(); }
  int Taps() const { return channels * kernel * kernel; }
  int OutPixels() const { return out_height * out_width; }
};

// Columns of one image and group: row (c*k + i)*k + j holds input channel c shifted by kernel
// tap (i, j). Rows are `row_stride` apart, so several images can sit side by side.
void Im2Col(const float* input, const ConvGeometry& g, int64_t row_stride, float* columns);

// The adjoint of Im2Col: adds each column entry back to the input pixel it came from.
void Col2ImAdd(const float* columns, const ConvGeometry& g, int64_t row_stride, float* input);

// Direct convolution: reads the (zero-padded) input planes where each output pixel needs them
// instead of copying them k*k times into columns, and computes blocks of output channels x
// output pixels in registers, vectorised over the output channels. Worth it when a group has
// at least a SIMD register's width of output channels.
class DirectConv {
 public:
  // `weights`: out_channels x g.Taps(), the layout of the GEMM path.
  DirectConv(const ConvGeometry& g, const float* weights, int out_channels);

  // The output planes (out_channels x out_height x out_width) of one image's `input` planes,
  // with `epilogue`'s channel 0 at output channel `first_channel`.
  void Run(const float* input, const ChannelEpilogue& epilogue, int first_channel, float* output) const;

  static int VectorWidth();

 private:
  ConvGeometry g_;
  int out_channels_;
  std::vector<int> tap_offsets_;    // per tap (c, i, j), its offset in the padded planes
  std::vector<int> pixel_offsets_;  // per output pixel, the offset of its window's corner
  std::vector<int> pixel_blocks_;   // the pixel counts the output row is cut into, in order
  // Per block of output channels, the weights tap by tap, each tap's channels contiguous
  // (zero beyond out_channels).
  std::vector<float, Eigen::aligned_allocator<float>> packed_;
};

}  // namespace hwnas
