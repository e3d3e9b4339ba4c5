#include "nn/conv_kernels.h"

#include <algorithm>
#include <array>

#include "core/errors.h"

// Eigen's packets are vector types whose alignment attributes GCC drops, harmlessly, when they
// are template arguments.
#pragma GCC diagnostic ignored "-Wignored-attributes"

namespace hwnas {

namespace {

using Packet = Eigen::internal::packet_traits<float>::type;
constexpr int kLanes = Eigen::internal::unpacket_traits<Packet>::size;
// A block of 2 registers of output channels x 6 pixels keeps 12 accumulators, 2 weight
// registers and 1 broadcast input in AVX2's 16 registers, and has enough independent FMAs in
// flight to hide their latency.
constexpr int kMaxVectors = 2;
constexpr int kMaxPixels = 6;

// Copies a plane into the interior of a zeroed (height + 2p) x (width + 2p) buffer.
void PadPlane(const float* plane, const ConvGeometry& g, float* padded) {
  for (int y = 0; y < g.height; ++y) {
    std::copy(plane + y * g.width, plane + (y + 1) * g.width,
              padded + (y + g.padding) * g.PaddedWidth() + g.padding);
  }
}

// out[pixel][channel] for kPixels pixels x kVectors registers of channels: the sum over taps
// of weights[tap][channel] * input[pixel_offset + tap_offset].
template <int kVectors, int kPixels>
void DirectBlock(const float* input, const int* taps, int tap_count, const int* pixel_offsets,
                 const float* weights, float* out) {
  using namespace Eigen::internal;
  const float* at[kPixels];
  Packet acc[kPixels][kVectors];
  for (int p = 0; p < kPixels; ++p) {
    at[p] = input + pixel_offsets[p];
    for (int v = 0; v < kVectors; ++v) acc[p][v] = pset1<Packet>(0.0f);
  }
  for (int t = 0; t < tap_count; ++t, weights += kVectors * kLanes) {
    const int tap = taps[t];
    Packet w[kVectors];
    for (int v = 0; v < kVectors; ++v) w[v] = pload<Packet>(weights + v * kLanes);
    for (int p = 0; p < kPixels; ++p) {
      const Packet x = pset1<Packet>(at[p][tap]);
      for (int v = 0; v < kVectors; ++v) acc[p][v] = pmadd(w[v], x, acc[p][v]);
    }
  }
  for (int p = 0; p < kPixels; ++p) {
    for (int v = 0; v < kVectors; ++v) pstoreu(out + (p * kVectors + v) * kLanes, acc[p][v]);
  }
}

using BlockFn = void (*)(const float*, const int*, int, const int*, const float*, float*);

template <int kVectors, size_t... kPixels>
constexpr std::array<BlockFn, sizeof...(kPixels)> BlocksOf(std::index_sequence<kPixels...>) {
  return {DirectBlock<kVectors, static_cast<int>(kPixels) + 1>...};
}

// kBlocks[vectors - 1][pixels - 1]
constexpr std::array<std::array<BlockFn, kMaxPixels>, kMaxVectors> kBlocks = {
    BlocksOf<1>(std::make_index_sequence<kMaxPixels>()),
    BlocksOf<2>(std::make_index_sequence<kMaxPixels>())};

// Output channels in blocks of kMaxVectors registers, the last one narrower if that is enough.
int VectorsOfBlock(int channels_left) {
  return std::min(kMaxVectors, (channels_left + kLanes - 1) / kLanes);
}

// Cuts `pixels` into blocks of kMaxPixels, turning some into kMaxPixels - 1 rather than
// leaving a short last block.
std::vector<int> PixelBlocks(int pixels) {
  int shorter = (kMaxPixels - pixels % kMaxPixels) % kMaxPixels;
  if (shorter * (kMaxPixels - 1) > pixels) shorter = 0;
  const int rest = pixels - shorter * (kMaxPixels - 1);
  std::vector<int> blocks(rest / kMaxPixels, kMaxPixels);
  blocks.insert(blocks.end(), shorter, kMaxPixels - 1);
  if (rest % kMaxPixels) blocks.push_back(rest % kMaxPixels);
  return blocks;
}

// Writes `block` ([pixel][width] channels) into the output planes of its `channels`, the first
// being output channel `first` and epilogue channel `epilogue_first`, through the epilogue:
// kLanes x kLanes transposes turn pixel-major registers into channel rows.
void StoreBlock(const float* block, int width, int channels, int pixels, const ChannelEpilogue& e,
                int epilogue_first, float* output) {
  using namespace Eigen::internal;
  const Packet lower = pset1<Packet>(e.lower), upper = pset1<Packet>(e.upper);
  const int whole = pixels - pixels % kLanes;
  for (int c0 = 0; c0 < channels; c0 += kLanes) {
    const int count = std::min(kLanes, channels - c0);
    Packet scale[kLanes], shift[kLanes];
    for (int c = 0; c < count; ++c) {
      scale[c] = pset1<Packet>(e.Scale(epilogue_first + c0 + c));
      shift[c] = pset1<Packet>(e.Shift(epilogue_first + c0 + c));
    }
    for (int p0 = 0; p0 < whole; p0 += kLanes) {
      PacketBlock<Packet, kLanes> tile;
      for (int i = 0; i < kLanes; ++i) tile.packet[i] = ploadu<Packet>(block + (p0 + i) * width + c0);
      ptranspose(tile);
      for (int c = 0; c < count; ++c) {
        const Packet y = pmin(pmax(pmadd(tile.packet[c], scale[c], shift[c]), lower), upper);
        pstoreu(output + int64_t{c0 + c} * pixels + p0, y);
      }
    }
    for (int c = 0; c < count; ++c) {
      const float s = e.Scale(epilogue_first + c0 + c), b = e.Shift(epilogue_first + c0 + c);
      for (int p = whole; p < pixels; ++p) {
        output[int64_t{c0 + c} * pixels + p] =
            std::min(std::max(block[p * width + c0 + c] * s + b, e.lower), e.upper);
      }
    }
  }
}

}  // namespace

void Im2Col(const float* input, const ConvGeometry& g, int64_t row_stride, float* columns) {
  // Reading from a zero-padded copy of each plane leaves the loops without bounds tests.
  std::vector<float> padded(g.PaddedSize(), 0.0f);
  for (int c = 0; c < g.channels; ++c) {
    PadPlane(input + static_cast<int64_t>(c) * g.height * g.width, g, padded.data());
    for (int i = 0; i < g.kernel; ++i) {
      for (int j = 0; j < g.kernel; ++j) {
        float* out = columns + ((c * g.kernel + i) * g.kernel + j) * row_stride;
        for (int oy = 0; oy < g.out_height; ++oy, out += g.out_width) {
          const float* in = padded.data() + (oy * g.stride + i) * g.PaddedWidth() + j;
          for (int ox = 0; ox < g.out_width; ++ox) out[ox] = in[ox * g.stride];
        }
      }
    }
  }
}

void Col2ImAdd(const float* columns, const ConvGeometry& g, int64_t row_stride, float* input) {
  std::vector<float> padded(g.PaddedSize());
  for (int c = 0; c < g.channels; ++c) {
    std::fill(padded.begin(), padded.end(), 0.0f);
    for (int i = 0; i < g.kernel; ++i) {
      for (int j = 0; j < g.kernel; ++j) {
        const float* in = columns + ((c * g.kernel + i) * g.kernel + j) * row_stride;
        for (int oy = 0; oy < g.out_height; ++oy, in += g.out_width) {
          float* out = padded.data() + (oy * g.stride + i) * g.PaddedWidth() + j;
          for (int ox = 0; ox < g.out_width; ++ox) out[ox * g.stride] += in[ox];
        }
      }
    }
    float* plane = input + static_cast<int64_t>(c) * g.height * g.width;
    for (int y = 0; y < g.height; ++y) {
      const float* from = padded.data() + (y + g.padding) * g.PaddedWidth() + g.padding;
      for (int x = 0; x < g.width; ++x) plane[y * g.width + x] += from[x];
    }
  }
}

int DirectConv::VectorWidth() { return kLanes; }

DirectConv::DirectConv(const ConvGeometry& g, const float* weights, int out_channels)
    : g_(g), out_channels_(out_channels), pixel_blocks_(PixelBlocks(g.OutPixels())) {
  HWNAS_CHECK(out_channels > 0 && g.PaddedSize() * g.channels < (int64_t{1} << 31));
  for (int c = 0; c < g.channels; ++c) {
    for (int i = 0; i < g.kernel; ++i) {
      for (int j = 0; j < g.kernel; ++j) {
        tap_offsets_.push_back(static_cast<int>(c * g.PaddedSize() + i * g.PaddedWidth() + j));
      }
    }
  }
  for (int oy = 0; oy < g.out_height; ++oy) {
    for (int ox = 0; ox < g.out_width; ++ox) {
      pixel_offsets_.push_back(oy * g.stride * g.PaddedWidth() + ox * g.stride);
    }
  }
  const int taps = g.Taps();
  for (int first = 0; first < out_channels; first += VectorsOfBlock(out_channels - first) * kLanes) {
    const int width = VectorsOfBlock(out_channels - first) * kLanes;
    for (int t = 0; t < taps; ++t) {
      for (int c = first; c < first + width; ++c) {
        packed_.push_back(c < out_channels ? weights[int64_t{c} * taps + t] : 0.0f);
      }
    }
  }
}

void DirectConv::Run(const float* input, const ChannelEpilogue& epilogue, int first_channel,
                     float* output) const {
  std::vector<float> padded(g_.channels * g_.PaddedSize(), 0.0f);
  for (int c = 0; c < g_.channels; ++c) {
    PadPlane(input + int64_t{c} * g_.height * g_.width, g_, padded.data() + c * g_.PaddedSize());
  }
  const int pixels = g_.OutPixels();
  const int taps = g_.Taps();
  std::vector<float> block(int64_t{pixels} * kMaxVectors * kLanes);
  const float* weights = packed_.data();
  for (int first = 0; first < out_channels_;) {
    const int vectors = VectorsOfBlock(out_channels_ - first);
    const int width = vectors * kLanes;
    int p = 0;
    for (const int count : pixel_blocks_) {
      kBlocks[vectors - 1][count - 1](padded.data(), tap_offsets_.data(), taps, pixel_offsets_.data() + p,
                                      weights, block.data() + int64_t{p} * width);
      p += count;
    }
    const int channels = std::min(width, out_channels_ - first);
    StoreBlock(block.data(), width, channels, pixels, epilogue, first_channel + first,
               output + int64_t{first} * pixels);
    weights += int64_t{taps} * width;
    first += width;
  }
}

}  // namespace hwnas
