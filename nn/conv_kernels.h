// The kernels behind conv2d, for one group of one image: im2col and its adjoint for the GEMM
// path, and direct kernels for the forward pass and both gradients. Exposed for the tests, which
// check the direct kernels against naive loops.
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

using AlignedFloats = std::vector<float, Eigen::aligned_allocator<float>>;

// Channels [first, first + count) of a register block `width` wide (count <= width).
struct ChannelBlock {
  int first, width, count;
};

// The direct kernels read zero-padded planes where each output needs them instead of copying
// them k*k times into columns, and compute blocks of channels x pixels in registers, vectorised
// over the channels. Worth it when a group has at least a SIMD register's width of channels.
int DirectVectorWidth();

// Where the forward and weight-gradient kernels find each tap and output pixel in a padded copy
// of the input.
class DirectLayout {
 public:
  DirectLayout(const ConvGeometry& g, int out_channels);

 protected:
  void Pad(const float* input, std::vector<float>& padded) const;

  ConvGeometry g_;
  std::vector<int> tap_offsets_;    // per tap (c, i, j), its offset in the padded planes
  std::vector<int> pixel_offsets_;  // per output pixel, the offset of its window's corner
  std::vector<ChannelBlock> out_blocks_;
};

// The forward convolution.
class DirectConv : public DirectLayout {
 public:
  // `weights`: out_channels x g.Taps(), the layout of the GEMM path.
  DirectConv(const ConvGeometry& g, const float* weights, int out_channels);

  // The output planes (out_channels x out_height x out_width) of one image's `input` planes,
  // with `epilogue`'s channel 0 at output channel `first_channel`.
  void Run(const float* input, const ChannelEpilogue& epilogue, int first_channel, float* output) const;

 private:
  std::vector<int> pixel_blocks_;  // how the output pixels are cut into register blocks
  AlignedFloats packed_;           // per block of output channels, [tap][channel]
};

// The weight gradient, summed over the images added: the forward kernel with the sum over
// output pixels in place of the sum over taps.
class DirectWeightGradient : public DirectLayout {
 public:
  DirectWeightGradient(const ConvGeometry& g, int out_channels);

  // One image's input planes and the gradient of its output planes.
  void Add(const float* input, const float* grad_output);
  // The sum so far into `weight_grad`, out_channels x g.Taps().
  void Store(float* weight_grad) const;

 private:
  std::vector<int> tap_blocks_;  // how the taps are cut into register blocks
  std::vector<float> sums_;      // per block of output channels, [tap][channel]
};

// The input gradient, vectorised over the input channels. Input pixels fall into stride x
// stride phases by their position modulo the stride; the pixels of a phase take the same kernel
// taps from the output gradient, so each phase is a direct convolution of its own.
class DirectInputGradient {
 public:
  // `weights` as for DirectConv.
  DirectInputGradient(const ConvGeometry& g, const float* weights, int out_channels);

  // The gradient of one image's input planes from that of its output planes.
  void Run(const float* grad_output, float* grad_input) const;

 private:
  struct Phase {
    std::vector<int> taps;           // (output channel, tap row, tap column) offsets
    std::vector<int> pixel_offsets;  // in the padded output gradient
    std::vector<int> pixels;         // where they go in the input plane
    std::vector<int> pixel_blocks;
    AlignedFloats packed;            // per block of input channels, [tap][channel]
  };

  ConvGeometry g_;
  int out_channels_, border_, padded_height_, padded_width_;  // of the padded output gradient
  std::vector<ChannelBlock> in_blocks_;
  std::vector<Phase> phases_;
};

// Depthwise convolution, one channel plane at a time (g.channels == 1): a group of one channel
// gives the direct kernels nothing to vectorise over and im2col a GEMM of one row, so these
// vectorise along the whole plane (at stride s, along its s*s phase planes). `padded` is the plane zero-padded
// (g.PaddedHeight() x g.PaddedWidth()) in a buffer of DepthwisePaddedSize(g) (the rest zeros), `weights` the
// k*k taps.
inline constexpr int kDepthwiseBlock = 64;  // outputs summed in registers at once
inline int64_t DepthwisePaddedSize(const ConvGeometry& g) { return g.PaddedSize() + kDepthwiseBlock; }
void PadPlane(const float* plane, const ConvGeometry& g, float* padded);
// output (out_height x out_width) = the plane convolved with the taps.
void DepthwisePlane(const float* padded, const ConvGeometry& g, const float* weights, float* output);
// weight_grad (k*k) += the gradient of the taps from the output's gradient.
void DepthwiseWeightGradient(const float* padded, const float* grad_output, const ConvGeometry& g,
                             float* weight_grad);
// grad_plane (height x width) = the gradient of the (unpadded) plane.
void DepthwiseInputGradient(const float* grad_output, const ConvGeometry& g, const float* weights,
                            float* grad_plane);

}  // namespace hwnas
