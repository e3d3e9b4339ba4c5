// conv2d, per chunk of images and group: direct convolutions (nn/conv_kernels.h) for groups
// with at least a SIMD register's width of channels, plane-by-plane loops for depthwise convs,
// else im2col + GEMM, whose training forward keeps its columns for the weight gradient.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/rng.h"
#include "nn/batch_chunks.h"
#include "nn/conv_kernels.h"
#include "nn/layer.h"
#include "nn/weight_compression.h"

namespace hwnas {

namespace {

constexpr int kImagesPerChunk = 8;

class Conv2d : public Module {
 public:
  Conv2d(const ConvOptions& o, Rng& init)
      : o_(o),
        group_in_(o.cin / o.groups),
        group_out_(o.cout / o.groups),
        direct_output_(group_out_ >= DirectVectorWidth()),
        direct_input_(group_in_ >= DirectVectorWidth()),
        depthwise_(o.groups > 1 && o.groups == o.cin && o.groups == o.cout),
        weight_({o.cout, o.cin / o.groups, o.kernel, o.kernel}),
        bias_({o.bias ? o.cout : 0}, true, false) {
    HWNAS_CHECK(o.cin > 0 && o.cout > 0 && o.kernel > 0 && o.stride > 0 && o.padding >= 0);
    HWNAS_CHECK(o.groups > 0 && o.cin % o.groups == 0 && o.cout % o.groups == 0);
    const float bound = 1.0f / std::sqrt(static_cast<float>(group_in_ * o.kernel * o.kernel));
    for (auto& w : weight_.value) w = static_cast<float>((2 * init.Uniform() - 1) * bound);
    for (auto& b : bias_.value) b = static_cast<float>((2 * init.Uniform() - 1) * bound);
  }

  Tensor Forward(Tensor input, Mode mode) override { return Run(std::move(input), mode, {}); }

  bool TakesEpilogue() const override { return true; }

  Tensor ForwardWithEpilogue(Tensor input, const ChannelEpilogue& epilogue) override {
    return Run(std::move(input), Mode::kEval, epilogue);
  }

  Tensor Backward(Tensor grad_output) override {
    HWNAS_CHECK(input_.shape.n == grad_output.shape.n);
    if (depthwise_) return DepthwiseBackward(grad_output);
    const ConvGeometry g = GeometryOf(input_.shape);
    const int pixels = g.out_height * g.out_width;
    const int images = input_.shape.n;
    Tensor grad_input;
    if (input_gradient_) {
      grad_input = Tensor(input_.shape);
      // col2im adds into it; the direct input gradient writes every value.
      if (!direct_input_) grad_input.values.setZero();
    }
    const ConstRowMap weight = compression_.LastEffective(weight_, o_.cout, ColumnRows());
    std::vector<DirectInputGradient> input_grads;
    for (int group = 0; input_gradient_ && direct_input_ && group < o_.groups; ++group) {
      input_grads.emplace_back(g, weight.row(group * group_out_).data(), group_out_);
    }
    // The GEMMs take the output gradients of a chunk's images side by side.
    const bool gemm = !direct_output_ || (input_gradient_ && !direct_input_);
    const int chunks = ChunkCount(images, kImagesPerChunk);
    std::vector<RowMatrix> weight_grads(chunks, RowMatrix(o_.cout, ColumnRows()));
    std::vector<Eigen::VectorXf> bias_grads(chunks, Eigen::VectorXf::Zero(o_.bias ? o_.cout : 0));
    ForEachChunk(images, kImagesPerChunk, [&](int k, int first, int end) {
      const int64_t width = int64_t{end - first} * pixels;
      RowMatrix grads(gemm ? group_out_ : 0, width);
      RowMatrix scratch;
      for (int group = 0; group < o_.groups; ++group) {
        auto group_grad = [&](int n) { return grad_output.Item(n) + int64_t{group} * group_out_ * pixels; };
        for (int n = first; n < end; ++n) {
          const ConstRowMap item(group_grad(n), group_out_, pixels);
          if (gemm) grads.middleCols(int64_t{n - first} * pixels, pixels) = item;
          if (o_.bias) bias_grads[k].segment(group * group_out_, group_out_) += item.rowwise().sum();
        }
        auto weight_grad = weight_grads[k].middleRows(group * group_out_, group_out_);
        if (direct_output_) {
          DirectWeightGradient sum(g, group_out_);
          for (int n = first; n < end; ++n) sum.Add(GroupInput(input_, n, group), group_grad(n));
          sum.Store(weight_grad.data());
        } else {
          weight_grad.noalias() = grads * column_cache_[k * o_.groups + group].transpose();
        }
        if (!input_gradient_) continue;
        auto group_grad_input = [&](int n) {
          return grad_input.Item(n) + int64_t{group} * group_in_ * g.height * g.width;
        };
        if (direct_input_) {
          for (int n = first; n < end; ++n) input_grads[group].Run(group_grad(n), group_grad_input(n));
          continue;
        }
        // Spent columns are reused for their gradient.
        RowMatrix& columns = direct_output_ ? scratch : column_cache_[k * o_.groups + group];
        columns.resize(ColumnRows(), width);
        columns.noalias() = weight.middleRows(group * group_out_, group_out_).transpose() * grads;
        for (int n = first; n < end; ++n) {
          Col2ImAdd(columns.data() + int64_t{n - first} * pixels, g, width, group_grad_input(n));
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
  // The forward pass, the output through `epilogue` (after the bias). The im2col path shares
  // one GEMM per group among a chunk of images: columns of all its images side by side, which
  // is several times faster than a GEMM per image on small feature maps.
  Tensor Run(Tensor input, Mode mode, ChannelEpilogue epilogue) {
    HWNAS_CHECK(input.shape.c == o_.cin);
    for (const auto* per_channel : {&epilogue.scale, &epilogue.shift}) {
      HWNAS_CHECK(per_channel->size() == 0 || per_channel->size() == o_.cout);
    }
    if (o_.bias) epilogue.AddBefore(bias_.value);
    const ConvGeometry g = GeometryOf(input.shape);
    const int pixels = g.out_height * g.out_width;
    Tensor output({input.shape.n, o_.cout, g.out_height, g.out_width});
    const ConstRowMap weight = compression_.Effective(weight_, o_.cout, ColumnRows());
    const bool training = mode == Mode::kTrain;
    if (training) input_ = std::move(input);
    const Tensor& in = training ? input_ : input;
    if (depthwise_) {
      const ConvGeometry plane = GeometryOf(in.shape);
      ForEachChunk(in.shape.n, kImagesPerChunk, [&](int, int first, int end) {
        std::vector<float> padded(DepthwisePaddedSize(plane));
        for (int n = first; n < end; ++n) {
          for (int c = 0; c < o_.cout; ++c) {
            float* out = output.Item(n) + int64_t{c} * pixels;
            PadPlane(GroupInput(in, n, c), plane, padded.data());
            DepthwisePlane(padded.data(), plane, weight.row(c).data(), out);
            epilogue.Apply(out, c, 1, pixels);
          }
        }
      });
      return output;
    }
    if (direct_output_) {
      std::vector<DirectConv> groups;
      for (int group = 0; group < o_.groups; ++group) {
        groups.emplace_back(g, weight.row(group * group_out_).data(), group_out_);
      }
      ForEachChunk(in.shape.n, kImagesPerChunk, [&](int, int first, int end) {
        for (int n = first; n < end; ++n) {
          for (int group = 0; group < o_.groups; ++group) {
            groups[group].Run(GroupInput(in, n, group), epilogue, group * group_out_,
                              output.Item(n) + int64_t{group} * group_out_ * pixels);
          }
        }
      });
      return output;
    }
    // Training keeps the columns for the backward pass (k*k times the input's memory).
    if (training) column_cache_.resize(ChunkCount(in.shape.n, kImagesPerChunk) * o_.groups);
    ForEachChunk(in.shape.n, kImagesPerChunk, [&](int k, int first, int end) {
      const int64_t width = int64_t{end - first} * pixels;
      RowMatrix scratch;
      RowMatrix products(group_out_, width);
      for (int group = 0; group < o_.groups; ++group) {
        RowMatrix& columns = training ? column_cache_[k * o_.groups + group] : scratch;
        columns.resize(ColumnRows(), width);
        for (int n = first; n < end; ++n) {
          Im2Col(GroupInput(in, n, group), g, width, columns.data() + int64_t{n - first} * pixels);
        }
        products.noalias() = weight.middleRows(group * group_out_, group_out_) * columns;
        for (int n = first; n < end; ++n) {
          output.ItemMatrix(n).middleRows(group * group_out_, group_out_) =
              products.middleCols(int64_t{n - first} * pixels, pixels);
        }
      }
      for (int n = first; n < end; ++n) epilogue.Apply(output.Item(n), 0, o_.cout, pixels);
    });
    return output;
  }

  // Per chunk of images: the weight gradient summed over its images, then over chunks in order.
  Tensor DepthwiseBackward(const Tensor& grad_output) {
    const ConvGeometry g = GeometryOf(input_.shape);
    const int pixels = g.OutPixels(), taps = o_.kernel * o_.kernel, images = input_.shape.n;
    const ConstRowMap weight = compression_.LastEffective(weight_, o_.cout, taps);
    Tensor grad_input;
    if (input_gradient_) grad_input = Tensor(input_.shape);
    std::vector<RowMatrix> weight_grads(ChunkCount(images, kImagesPerChunk),
                                        RowMatrix::Zero(o_.cout, taps));
    std::vector<Eigen::VectorXf> bias_grads(weight_grads.size(),
                                            Eigen::VectorXf::Zero(o_.bias ? o_.cout : 0));
    ForEachChunk(images, kImagesPerChunk, [&](int k, int first, int end) {
      std::vector<float> padded(DepthwisePaddedSize(g));
      for (int n = first; n < end; ++n) {
        for (int c = 0; c < o_.cout; ++c) {
          const float* grad = grad_output.Item(n) + int64_t{c} * pixels;
          if (o_.bias) bias_grads[k][c] += ConstRowMap(grad, 1, pixels).sum();
          PadPlane(GroupInput(input_, n, c), g, padded.data());
          DepthwiseWeightGradient(padded.data(), grad, g, weight_grads[k].row(c).data());
          if (!input_gradient_) continue;
          DepthwiseInputGradient(grad, g, weight.row(c).data(),
                                 grad_input.Item(n) + int64_t{c} * g.height * g.width);
        }
      }
    });
    RowMatrix weight_grad = RowMatrix::Zero(o_.cout, taps);
    for (const auto& partial : weight_grads) weight_grad += partial;
    compression_.BackwardInPlace(weight_grad);
    RowMap(weight_.grad.data(), o_.cout, taps) += weight_grad;
    for (const auto& partial : bias_grads) bias_.grad.matrix() += partial;
    return grad_input;
  }

  int ColumnRows() const { return group_in_ * o_.kernel * o_.kernel; }

  ConvGeometry GeometryOf(const Shape& s) const {
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
  // The direct kernels, for groups with at least a SIMD register's width of channels: for the
  // forward pass and weight gradient (vectorised over output channels), and for the input
  // gradient (over input channels).
  bool direct_output_, direct_input_;
  bool depthwise_;  // groups == cin == cout > 1: plane by plane (DepthwisePlane and its adjoints)
  Parameter weight_;
  Parameter bias_;
  WeightCompression compression_;
  Tensor input_;
  std::vector<RowMatrix> column_cache_;  // im2col path: per chunk and group, of the last training forward
};

}  // namespace

std::unique_ptr<Module> MakeConv2d(const ConvOptions& options, Rng& init) {
  return std::make_unique<Conv2d>(options, init);
}

}  // namespace hwnas
