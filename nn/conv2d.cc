// conv2d by im2col + GEMM, per chunk of images and group. A training forward keeps its columns
// for the backward pass, which needs them for the weight gradient.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/rng.h"
#include "nn/batch_chunks.h"
#include "nn/layer.h"
#include "nn/weight_compression.h"

namespace hwnas {

namespace {

constexpr int kImagesPerChunk = 8;

struct Geometry {
  int channels, height, width, kernel, stride, padding, out_height, out_width;

  int PaddedWidth() const { return width + 2 * padding; }
  int PaddedSize() const { return (height + 2 * padding) * PaddedWidth(); }
};

// Copies a plane into the interior of a zeroed (height + 2p) x (width + 2p) buffer.
void PadPlane(const float* plane, const Geometry& g, float* padded) {
  for (int y = 0; y < g.height; ++y) {
    std::copy(plane + y * g.width, plane + (y + 1) * g.width,
              padded + (y + g.padding) * g.PaddedWidth() + g.padding);
  }
}

// Columns of one image and group: row (c*k + i)*k + j holds input channel c shifted by kernel
// tap (i, j). Rows are `row_stride` apart, so several images can sit side by side. Reading from
// a zero-padded copy of each plane leaves the loops without bounds tests.
void Im2Col(const float* input, const Geometry& g, int64_t row_stride, float* columns) {
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

// The adjoint of Im2Col: adds each column entry back to the input pixel it came from.
void Col2ImAdd(const float* columns, const Geometry& g, int64_t row_stride, float* input) {
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

class Conv2d : public Module {
 public:
  Conv2d(const ConvOptions& o, Rng& init)
      : o_(o),
        group_in_(o.cin / o.groups),
        group_out_(o.cout / o.groups),
        weight_({o.cout, o.cin / o.groups, o.kernel, o.kernel}),
        bias_({o.bias ? o.cout : 0}, true, false) {
    HWNAS_CHECK(o.cin > 0 && o.cout > 0 && o.kernel > 0 && o.stride > 0 && o.padding >= 0);
    HWNAS_CHECK(o.groups > 0 && o.cin % o.groups == 0 && o.cout % o.groups == 0);
    const float bound = 1.0f / std::sqrt(static_cast<float>(group_in_ * o.kernel * o.kernel));
    for (auto& w : weight_.value) w = static_cast<float>((2 * init.Uniform() - 1) * bound);
    for (auto& b : bias_.value) b = static_cast<float>((2 * init.Uniform() - 1) * bound);
  }

  // Each chunk of images shares one GEMM per group: columns of all its images side by side,
  // which is several times faster than a GEMM per image on small feature maps.
  Tensor Forward(Tensor input, Mode mode) override {
    HWNAS_CHECK(input.shape.c == o_.cin);
    const Geometry g = GeometryOf(input.shape);
    const int pixels = g.out_height * g.out_width;
    Tensor output({input.shape.n, o_.cout, g.out_height, g.out_width});
    const ConstRowMap weight = compression_.Effective(weight_, o_.cout, ColumnRows());
    const bool training = mode == Mode::kTrain;
    // Training keeps the columns for the backward pass (k*k times the input's memory).
    if (training) column_cache_.resize(ChunkCount(input.shape.n, kImagesPerChunk) * o_.groups);
    ForEachChunk(input.shape.n, kImagesPerChunk, [&](int k, int first, int end) {
      const int64_t width = int64_t{end - first} * pixels;
      RowMatrix scratch;
      RowMatrix products(group_out_, width);
      for (int group = 0; group < o_.groups; ++group) {
        RowMatrix& columns = training ? column_cache_[k * o_.groups + group] : scratch;
        columns.resize(ColumnRows(), width);
        for (int n = first; n < end; ++n) {
          Im2Col(GroupInput(input, n, group), g, width, columns.data() + int64_t{n - first} * pixels);
        }
        products.noalias() = weight.middleRows(group * group_out_, group_out_) * columns;
        for (int n = first; n < end; ++n) {
          output.ItemMatrix(n).middleRows(group * group_out_, group_out_) =
              products.middleCols(int64_t{n - first} * pixels, pixels);
        }
      }
      if (o_.bias) {
        const Eigen::Map<const Eigen::VectorXf> bias(bias_.value.data(), o_.cout);
        for (int n = first; n < end; ++n) output.ItemMatrix(n).colwise() += bias;
      }
    });
    if (mode == Mode::kTrain) input_ = std::move(input);
    return output;
  }

  Tensor Backward(Tensor grad_output) override {
    HWNAS_CHECK(input_.shape.n == grad_output.shape.n);
    const Geometry g = GeometryOf(input_.shape);
    const int pixels = g.out_height * g.out_width;
    const int images = input_.shape.n;
    Tensor grad_input;
    if (input_gradient_) {
      grad_input = Tensor(input_.shape);
      grad_input.values.setZero();
    }
    const ConstRowMap weight = compression_.LastEffective(weight_, o_.cout, ColumnRows());
    const int chunks = ChunkCount(images, kImagesPerChunk);
    std::vector<RowMatrix> weight_grads(chunks, RowMatrix(o_.cout, ColumnRows()));
    std::vector<Eigen::VectorXf> bias_grads(chunks, Eigen::VectorXf::Zero(o_.bias ? o_.cout : 0));
    ForEachChunk(images, kImagesPerChunk, [&](int k, int first, int end) {
      const int64_t width = int64_t{end - first} * pixels;
      RowMatrix grads(group_out_, width);
      for (int group = 0; group < o_.groups; ++group) {
        RowMatrix& columns = column_cache_[k * o_.groups + group];
        for (int n = first; n < end; ++n) {
          const auto item = std::as_const(grad_output).ItemMatrix(n);
          grads.middleCols(int64_t{n - first} * pixels, pixels) =
              item.middleRows(group * group_out_, group_out_);
        }
        if (o_.bias) bias_grads[k].segment(group * group_out_, group_out_) = grads.rowwise().sum();
        weight_grads[k].middleRows(group * group_out_, group_out_).noalias() = grads * columns.transpose();
        if (!input_gradient_) continue;
        // The columns are spent: reuse them for their gradient.
        columns.noalias() = weight.middleRows(group * group_out_, group_out_).transpose() * grads;
        for (int n = first; n < end; ++n) {
          Col2ImAdd(columns.data() + int64_t{n - first} * pixels, g, width,
                    grad_input.Item(n) + static_cast<int64_t>(group) * group_in_ * g.height * g.width);
        }
      }
    });
    RowMatrix weight_grad = RowMatrix::Zero(o_.cout, ColumnRows());
    for (const auto& partial : weight_grads) weight_grad += partial;
    compression_.BackwardInPlace(weight_grad);
    RowMap(weight_.grad.data(), o_.cout, ColumnRows()) += weight_grad;
    for (const auto& partial : bias_grads) bias_.grad.matrix() += partial;
    return grad_input;
  }

  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>& out) override {
    out.push_back({prefix + "weight", &weight_});
    if (o_.bias) out.push_back({prefix + "bias", &bias_});
  }

  void CollectCompressible(const std::string& prefix, std::vector<CompressibleLayer>& out) override {
    out.push_back({prefix + "weight", &weight_, o_.cout, ColumnRows(), &compression_});
  }

  std::string Describe() const override {
    return "conv " + std::to_string(o_.cin) + "->" + std::to_string(o_.cout) + " k" +
           std::to_string(o_.kernel) + " s" + std::to_string(o_.stride) + " p" +
           std::to_string(o_.padding) + (o_.groups > 1 ? " g" + std::to_string(o_.groups) : "");
  }

 private:
  int ColumnRows() const { return group_in_ * o_.kernel * o_.kernel; }

  Geometry GeometryOf(const Shape& s) const {
    const int out_h = (s.h + 2 * o_.padding - o_.kernel) / o_.stride + 1;
    const int out_w = (s.w + 2 * o_.padding - o_.kernel) / o_.stride + 1;
    HWNAS_CHECK(out_h > 0 && out_w > 0);
    return {group_in_, s.h, s.w, o_.kernel, o_.stride, o_.padding, out_h, out_w};
  }

  const float* GroupInput(const Tensor& t, int n, int group) const {
    return t.Item(n) + static_cast<int64_t>(group) * group_in_ * t.shape.h * t.shape.w;
  }

  ConvOptions o_;
  int group_in_, group_out_;
  Parameter weight_;
  Parameter bias_;
  WeightCompression compression_;
  Tensor input_;
  std::vector<RowMatrix> column_cache_;  // per chunk and group, of the last training forward
};

}  // namespace

std::unique_ptr<Module> MakeConv2d(const ConvOptions& options, Rng& init) {
  return std::make_unique<Conv2d>(options, init);
}

}  // namespace hwnas
