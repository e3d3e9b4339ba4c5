#include "nn/conv_kernels.h"

#include <algorithm>
#include <cstring>
#include <array>
#include <tuple>

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

// Copies a height x width plane into a zeroed buffer of rows `padded_width` apart, from row
// `top` and column `left`.
void PadPlane(const float* plane, int height, int width, int top, int left, int padded_width, float* padded) {
  for (int y = 0; y < height; ++y) {
    std::copy(plane + y * width, plane + (y + 1) * width, padded + (y + top) * padded_width + left);
  }
}

// out[pixel][channel] (+)= for kPixels pixels x kVectors registers of channels, the sum over
// taps of weights[tap][channel] * input[pixel_offset + tap_offset]. The weight gradient uses it
// with the roles swapped: pixels as the taps summed over, taps as the pixels.
template <int kVectors, int kPixels>
void DirectBlock(const float* input, const int* taps, int tap_count, const int* pixel_offsets,
                 const float* weights, bool accumulate, float* out) {
  using namespace Eigen::internal;
  const float* at[kPixels];
  Packet acc[kPixels][kVectors];
  for (int p = 0; p < kPixels; ++p) {
    at[p] = input + pixel_offsets[p];
    for (int v = 0; v < kVectors; ++v) {
      acc[p][v] = accumulate ? ploadu<Packet>(out + (p * kVectors + v) * kLanes) : pset1<Packet>(0.0f);
    }
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

using BlockFn = void (*)(const float*, const int*, int, const int*, const float*, bool, float*);

template <int kVectors, size_t... kPixels>
constexpr std::array<BlockFn, sizeof...(kPixels)> BlocksOf(std::index_sequence<kPixels...>) {
  return {DirectBlock<kVectors, static_cast<int>(kPixels) + 1>...};
}

// kBlocks[vectors - 1][pixels - 1]
constexpr std::array<std::array<BlockFn, kMaxPixels>, kMaxVectors> kBlocks = {
    BlocksOf<1>(std::make_index_sequence<kMaxPixels>()),
    BlocksOf<2>(std::make_index_sequence<kMaxPixels>())};

// Channels in blocks of kMaxVectors registers, the last one narrower if that is enough.
std::vector<ChannelBlock> ChannelBlocks(int channels) {
  std::vector<ChannelBlock> blocks;
  for (int first = 0; first < channels;) {
    const int width = std::min(kMaxVectors, (channels - first + kLanes - 1) / kLanes) * kLanes;
    blocks.push_back({first, width, std::min(width, channels - first)});
    first += width;
  }
  return blocks;
}

// Appends weight(c, t) for `taps` taps x the block's channels, tap by tap, zero beyond its
// channels: the kernel's weights.
template <typename Weight>
void PackWeights(int taps, const ChannelBlock& block, Weight weight, AlignedFloats& packed) {
  for (int t = 0; t < taps; ++t) {
    for (int c = 0; c < block.width; ++c) packed.push_back(c < block.count ? weight(block.first + c, t) : 0.0f);
  }
}

// Cuts `count` pixels (or taps) into blocks of kMaxPixels, turning some into kMaxPixels - 1
// rather than leaving a short last block.
std::vector<int> Blocks(int count) {
  int shorter = (kMaxPixels - count % kMaxPixels) % kMaxPixels;
  if (shorter * (kMaxPixels - 1) > count) shorter = 0;
  const int rest = count - shorter * (kMaxPixels - 1);
  std::vector<int> blocks(rest / kMaxPixels, kMaxPixels);
  blocks.insert(blocks.end(), shorter, kMaxPixels - 1);
  if (rest % kMaxPixels) blocks.push_back(rest % kMaxPixels);
  return blocks;
}

// DirectBlock over all of `pixel_offsets`, cut into `blocks`; out is [pixel][width].
void RunBlocks(const float* input, const int* taps, int tap_count, const int* pixel_offsets,
               const std::vector<int>& blocks, const float* weights, int width, bool accumulate, float* out) {
  for (const int count : blocks) {
    kBlocks[width / kLanes - 1][count - 1](input, taps, tap_count, pixel_offsets, weights, accumulate, out);
    pixel_offsets += count;
    out += int64_t{count} * width;
  }
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

// StoreBlock's inverse without an epilogue: `channels` planes of `pixels` values into `block`
// ([pixel][width], zero beyond the channels).
void LoadBlock(const float* planes, int channels, int pixels, int width, float* block) {
  using namespace Eigen::internal;
  const int whole = pixels - pixels % kLanes;
  for (int c0 = 0; c0 < width; c0 += kLanes) {
    const int count = std::clamp(channels - c0, 0, kLanes);
    for (int p0 = 0; p0 < whole; p0 += kLanes) {
      PacketBlock<Packet, kLanes> tile;
      for (int i = 0; i < kLanes; ++i) {
        tile.packet[i] = i < count ? ploadu<Packet>(planes + int64_t{c0 + i} * pixels + p0) : pset1<Packet>(0.0f);
      }
      ptranspose(tile);
      for (int i = 0; i < kLanes; ++i) pstoreu(block + (p0 + i) * width + c0, tile.packet[i]);
    }
    for (int p = whole; p < pixels; ++p) {
      for (int c = 0; c < kLanes; ++c) block[p * width + c0 + c] = c < count ? planes[int64_t{c0 + c} * pixels + p] : 0.0f;
    }
  }
}

}  // namespace

void Im2Col(const float* input, const ConvGeometry& g, int64_t row_stride, float* columns) {
  // Reading from a zero-padded copy of each plane leaves the loops without bounds tests.
  std::vector<float> padded(g.PaddedSize(), 0.0f);
  for (int c = 0; c < g.channels; ++c) {
    PadPlane(input + static_cast<int64_t>(c) * g.height * g.width, g.height, g.width, g.padding, g.padding,
             g.PaddedWidth(), padded.data());
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

int DirectVectorWidth() { return kLanes; }

DirectLayout::DirectLayout(const ConvGeometry& g, int out_channels)
    : g_(g), out_blocks_(ChannelBlocks(out_channels)) {
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
}

void DirectLayout::Pad(const float* input, std::vector<float>& padded) const {
  padded.assign(g_.channels * g_.PaddedSize(), 0.0f);
  for (int c = 0; c < g_.channels; ++c) {
    PadPlane(input + int64_t{c} * g_.height * g_.width, g_.height, g_.width, g_.padding, g_.padding,
             g_.PaddedWidth(), padded.data() + c * g_.PaddedSize());
  }
}

DirectConv::DirectConv(const ConvGeometry& g, const float* weights, int out_channels)
    : DirectLayout(g, out_channels), pixel_blocks_(Blocks(g.OutPixels())) {
  const int taps = g.Taps();
  for (const auto& block : out_blocks_) {
    PackWeights(taps, block, [&](int c, int t) { return weights[int64_t{c} * taps + t]; }, packed_);
  }
}

void DirectConv::Run(const float* input, const ChannelEpilogue& epilogue, int first_channel,
                     float* output) const {
  std::vector<float> padded;
  Pad(input, padded);
  const int pixels = g_.OutPixels();
  const int taps = g_.Taps();
  std::vector<float> results(int64_t{pixels} * kMaxVectors * kLanes);
  const float* weights = packed_.data();
  for (const auto& block : out_blocks_) {
    RunBlocks(padded.data(), tap_offsets_.data(), taps, pixel_offsets_.data(), pixel_blocks_, weights, block.width,
              false, results.data());
    StoreBlock(results.data(), block.width, block.count, pixels, epilogue, first_channel + block.first,
               output + int64_t{block.first} * pixels);
    weights += int64_t{taps} * block.width;
  }
}

DirectWeightGradient::DirectWeightGradient(const ConvGeometry& g, int out_channels)
    : DirectLayout(g, out_channels), tap_blocks_(Blocks(g.Taps())) {
  for (const auto& block : out_blocks_) sums_.resize(sums_.size() + int64_t{g.Taps()} * block.width);
}

void DirectWeightGradient::Add(const float* input, const float* grad_output) {
  std::vector<float> padded;
  Pad(input, padded);
  const int pixels = g_.OutPixels();
  AlignedFloats by_pixel(int64_t{pixels} * kMaxVectors * kLanes);
  float* sums = sums_.data();
  for (const auto& block : out_blocks_) {
    // The kernel's weights: the output gradient pixel by pixel.
    LoadBlock(grad_output + int64_t{block.first} * pixels, block.count, pixels, block.width, by_pixel.data());
    RunBlocks(padded.data(), pixel_offsets_.data(), pixels, tap_offsets_.data(), tap_blocks_, by_pixel.data(),
              block.width, true, sums);
    sums += int64_t{g_.Taps()} * block.width;
  }
}

void DirectWeightGradient::Store(float* weight_grad) const {
  const float* sums = sums_.data();
  for (const auto& block : out_blocks_) {
    RowMap(weight_grad + int64_t{block.first} * g_.Taps(), block.count, g_.Taps()) =
        ConstRowMap(sums, g_.Taps(), block.width).leftCols(block.count).transpose();
    sums += int64_t{g_.Taps()} * block.width;
  }
}

// Input row y sits at y + padding = stride * u + r in the padded input: phase r takes kernel
// rows i = r + stride * m, from output-gradient row u - m. The output gradient is padded by
// border_ = max m above and left, and to row u_max + border_ below and right.
DirectInputGradient::DirectInputGradient(const ConvGeometry& g, const float* weights, int out_channels)
    : g_(g), out_channels_(out_channels), border_((g.kernel - 1) / g.stride), in_blocks_(ChannelBlocks(g.channels)) {
  const int s = g.stride, k = g.kernel;
  padded_height_ = border_ + std::max(g.out_height, (g.height - 1 + g.padding) / s + 1);
  padded_width_ = border_ + std::max(g.out_width, (g.width - 1 + g.padding) / s + 1);
  HWNAS_CHECK(int64_t{out_channels} * padded_height_ * padded_width_ < (int64_t{1} << 31));
  const int taps = g.Taps();
  for (int ry = 0; ry < s; ++ry) {
    for (int rx = 0; rx < s; ++rx) {
      Phase phase;
      std::vector<int> sources;  // per tap, its index within a weight row (c = 0)
      std::vector<int> outputs;  // per tap, its output channel
      for (int o = 0; o < out_channels; ++o) {
        for (int i = ry, m = 0; i < k; i += s, ++m) {
          for (int j = rx, n = 0; j < k; j += s, ++n) {
            phase.taps.push_back((o * padded_height_ + border_ - m) * padded_width_ + border_ - n);
            sources.push_back(i * k + j);
            outputs.push_back(o);
          }
        }
      }
      for (int y = (ry - g.padding % s + s) % s; y < g.height; y += s) {
        for (int x = (rx - g.padding % s + s) % s; x < g.width; x += s) {
          phase.pixel_offsets.push_back((y + g.padding) / s * padded_width_ + (x + g.padding) / s);
          phase.pixels.push_back(y * g.width + x);
        }
      }
      if (phase.pixels.empty()) continue;
      phase.pixel_blocks = Blocks(static_cast<int>(phase.pixels.size()));
      for (const auto& block : in_blocks_) {
        PackWeights(static_cast<int>(phase.taps.size()), block, [&](int c, int t) {
          return weights[int64_t{outputs[t]} * taps + c * k * k + sources[t]];
        }, phase.packed);
      }
      phases_.push_back(std::move(phase));
    }
  }
}

void DirectInputGradient::Run(const float* grad_output, float* grad_input) const {
  std::vector<float> padded(int64_t{out_channels_} * padded_height_ * padded_width_, 0.0f);
  for (int o = 0; o < out_channels_; ++o) {
    PadPlane(grad_output + int64_t{o} * g_.OutPixels(), g_.out_height, g_.out_width, border_, border_, padded_width_,
             padded.data() + int64_t{o} * padded_height_ * padded_width_);
  }
  const int64_t plane = int64_t{g_.height} * g_.width;
  std::vector<float> results;
  for (const auto& phase : phases_) {
    const int taps = static_cast<int>(phase.taps.size());
    const int pixels = static_cast<int>(phase.pixels.size());
    const float* weights = phase.packed.data();
    for (const auto& block : in_blocks_) {
      results.resize(int64_t{pixels} * block.width);
      RunBlocks(padded.data(), phase.taps.data(), taps, phase.pixel_offsets.data(), phase.pixel_blocks, weights,
                block.width, false, results.data());
      for (int q = 0; q < pixels; ++q) {
        for (int c = 0; c < block.count; ++c) {
          grad_input[(block.first + c) * plane + phase.pixels[q]] = results[int64_t{q} * block.width + c];
        }
      }
      weights += int64_t{taps} * block.width;
    }
  }
}

void PadPlane(const float* plane, const ConvGeometry& g, float* padded) {
  const int width = g.PaddedWidth();
  std::fill(padded, padded + DepthwisePaddedSize(g), 0.0f);
  for (int y = 0; y < g.height; ++y) {
    std::copy(plane + int64_t{y} * g.width, plane + int64_t{y + 1} * g.width,
              padded + int64_t{y + g.padding} * width + g.padding);
  }
}

namespace {

using Vec = float __attribute__((vector_size(32)));
static_assert(kDepthwiseBlock == 8 * sizeof(Vec) / sizeof(float));

Vec LoadVec(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Every kernel tap reads one contiguous run of the source, so each tap is one long multiply-add
// that vectorises fully, where a row of 7 to 28 pixels, or a strided one, does not. The source is
// the padded plane for stride 1; for stride s it is the s*s phase planes of the padded plane
// (rows a, a+s, ...; columns b, b+s, ...), each height x width, one after the other. Output pixel
// (y, x) sits at y * width + x of the "wide" layout, the columns past out_width junk.
struct PhaseLayout {
  int width = 0;             // of a phase plane, and of the wide layout
  int64_t plane = 0;         // floats per phase plane
  int64_t wide_length = 0;   // (out_height - 1) * width + out_width
  std::vector<int64_t> taps;  // where tap i * k + j reads, relative to the wide index
};

// A per-thread layout, rebuilt only when the geometry changes: a layer calls this once per
// plane, for every channel of every image.
const PhaseLayout& LayoutOf(const ConvGeometry& g) {
  thread_local PhaseLayout l;
  thread_local std::tuple<int, int, int, int, int, int, int> built{};
  const auto key =
      std::tuple(g.height, g.width, g.kernel, g.stride, g.padding, g.out_height, g.out_width);
  if (!l.taps.empty() && key == built) return l;
  built = key;
  const int s = g.stride;
  l.width = (g.PaddedWidth() + s - 1) / s;
  l.plane = int64_t{(g.PaddedHeight() + s - 1) / s} * l.width;
  l.wide_length = int64_t{g.out_height - 1} * l.width + g.out_width;
  l.taps.clear();
  for (int i = 0; i < g.kernel; ++i) {
    for (int j = 0; j < g.kernel; ++j) {
      l.taps.push_back(((i % s) * s + j % s) * l.plane + int64_t{i / s} * l.width + j / s);
    }
  }
  return l;
}

// fn(phase index, padded index) for every pixel of the padded plane.
template <typename Fn>
void ForEachPhasePixel(const ConvGeometry& g, const PhaseLayout& l, Fn fn) {
  const int s = g.stride;
  for (int a = 0; a < s; ++a) {
    for (int b = 0; b < s; ++b) {
      const int64_t phase = (a * s + b) * l.plane;
      for (int y = a, u = 0; y < g.PaddedHeight(); y += s, ++u) {
        for (int x = b, v = 0; x < g.PaddedWidth(); x += s, ++v) {
          fn(phase + int64_t{u} * l.width + v, int64_t{y} * g.PaddedWidth() + x);
        }
      }
    }
  }
}

// The source the taps read: the padded plane itself at stride 1 (its buffer has the slack), else
// its phase planes in a per-thread buffer with kDepthwiseBlock floats of zero slack.
const float* PhaseSource(const float* padded, const ConvGeometry& g, const PhaseLayout& l) {
  if (g.stride == 1) return padded;
  thread_local std::vector<float> phases;
  phases.assign(g.stride * g.stride * l.plane + kDepthwiseBlock, 0.0f);
  ForEachPhasePixel(g, l, [&](int64_t phase, int64_t pixel) { phases[phase] = padded[pixel]; });
  return phases.data();
}

// An output gradient in the wide layout, zeros in the junk columns and the slack.
const float* WideGradient(const float* grad_output, const ConvGeometry& g, const PhaseLayout& l) {
  thread_local std::vector<float> wide;
  wide.assign(l.wide_length + kDepthwiseBlock, 0.0f);
  for (int y = 0; y < g.out_height; ++y) {
    std::copy_n(grad_output + int64_t{y} * g.out_width, g.out_width, wide.data() + int64_t{y} * l.width);
  }
  return wide.data();
}

}  // namespace

void DepthwisePlane(const float* padded, const ConvGeometry& g, const float* weights, float* output) {
  const PhaseLayout& l = LayoutOf(g);
  const float* source = PhaseSource(padded, g, l);
  const int taps = g.kernel * g.kernel;
  thread_local std::vector<float> wide;
  wide.resize(l.wide_length + kDepthwiseBlock);
  // Blocks of kDepthwiseBlock outputs stay in registers over all taps: one load and one
  // multiply-add per vector and tap. The last block reads into the source's slack.
  for (int64_t t = 0; t < l.wide_length; t += kDepthwiseBlock) {
    // Named vector variables, as an array would be kept on the stack.
    Vec a0{}, a1{}, a2{}, a3{}, a4{}, a5{}, a6{}, a7{};
    for (int tap = 0; tap < taps; ++tap) {
      const float w = weights[tap];
      const float* in = source + l.taps[tap] + t;
      a0 += w * LoadVec(in);      a1 += w * LoadVec(in + 8);  a2 += w * LoadVec(in + 16);
      a3 += w * LoadVec(in + 24); a4 += w * LoadVec(in + 32); a5 += w * LoadVec(in + 40);
      a6 += w * LoadVec(in + 48); a7 += w * LoadVec(in + 56);
    }
    float* out = wide.data() + t;
    for (const Vec& a : {a0, a1, a2, a3, a4, a5, a6, a7}) {
      std::memcpy(out, &a, sizeof a);
      out += 8;
    }
  }
  for (int y = 0; y < g.out_height; ++y) {
    std::copy_n(wide.data() + int64_t{y} * l.width, g.out_width, output + int64_t{y} * g.out_width);
  }
}

void DepthwiseWeightGradient(const float* padded, const float* grad_output, const ConvGeometry& g,
                             float* weight_grad) {
  const PhaseLayout& l = LayoutOf(g);
  const float* source = PhaseSource(padded, g, l);
  const float* wide = WideGradient(grad_output, g, l);
  const int taps = g.kernel * g.kernel;
  // A block of the gradient held in registers while every tap's partial sums take one
  // multiply-add per vector.
  thread_local std::vector<Vec> sums;
  sums.assign(taps, Vec{});
  for (int64_t t = 0; t < l.wide_length; t += kDepthwiseBlock) {
    const float* grad = wide + t;
    const Vec g0 = LoadVec(grad), g1 = LoadVec(grad + 8), g2 = LoadVec(grad + 16),
              g3 = LoadVec(grad + 24), g4 = LoadVec(grad + 32), g5 = LoadVec(grad + 40),
              g6 = LoadVec(grad + 48), g7 = LoadVec(grad + 56);
    for (int tap = 0; tap < taps; ++tap) {
      const float* in = source + l.taps[tap] + t;
      // Two chains, so consecutive multiply-adds do not wait on each other.
      const Vec even = g0 * LoadVec(in) + g2 * LoadVec(in + 16) + g4 * LoadVec(in + 32) +
                       g6 * LoadVec(in + 48);
      const Vec odd = g1 * LoadVec(in + 8) + g3 * LoadVec(in + 24) + g5 * LoadVec(in + 40) +
                      g7 * LoadVec(in + 56);
      sums[tap] += even + odd;
    }
  }
  for (int tap = 0; tap < taps; ++tap) {
    float total = 0;
    for (int lane = 0; lane < 8; ++lane) total += sums[tap][lane];
    weight_grad[tap] += total;
  }
}

void DepthwiseInputGradient(const float* grad_output, const ConvGeometry& g, const float* weights,
                            float* grad_plane) {
  const int k = g.kernel;
  if (g.stride == 1 && g.padding <= k - 1) {
    // The adjoint of a stride-1 convolution is the "full" convolution of the output's gradient
    // with the kernel turned by 180 degrees: the forward kernel, summing in registers, instead
    // of k*k passes that each add into the whole plane.
    thread_local std::vector<float> padded, flipped;
    const ConvGeometry adjoint{1, g.out_height, g.out_width, k, 1, k - 1 - g.padding, g.height,
                               g.width};
    flipped.assign(weights, weights + k * k);
    std::reverse(flipped.begin(), flipped.end());
    padded.resize(DepthwisePaddedSize(adjoint));
    PadPlane(grad_output, adjoint, padded.data());
    DepthwisePlane(padded.data(), adjoint, flipped.data(), grad_plane);
    return;
  }
  // Otherwise each tap adds the wide gradient into the phase planes in one long pass, and the
  // plane's pixels are read back out of them.
  const PhaseLayout& l = LayoutOf(g);
  const Eigen::Map<const Eigen::ArrayXf> wide(WideGradient(grad_output, g, l), l.wide_length);
  thread_local Eigen::ArrayXf phases;
  phases.setZero(g.stride * g.stride * l.plane + kDepthwiseBlock);
  for (int tap = 0; tap < k * k; ++tap) {
    phases.segment(l.taps[tap], l.wide_length) += weights[tap] * wide;
  }
  // The padded plane's gradient, of which the plane's is the interior.
  thread_local std::vector<float> grad_padded;
  grad_padded.resize(g.PaddedSize());
  ForEachPhasePixel(g, l, [&](int64_t phase, int64_t pixel) { grad_padded[pixel] = phases[phase]; });
  for (int y = 0; y < g.height; ++y) {
    std::copy_n(grad_padded.data() + int64_t{y + g.padding} * g.PaddedWidth() + g.padding, g.width,
                grad_plane + int64_t{y} * g.width);
  }
}

}  // namespace hwnas
