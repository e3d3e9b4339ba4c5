#include "hwmodels/host/host_network.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/errors.h"
#include "core/rng.h"
#include "hwmodels/host/onednn_bf16.h"
#include "hwmodels/host/onednn_int8.h"
#include "nn/layer.h"

namespace hwnas {

namespace {

std::string LayerName(const Layer& layer, size_t index) {
  return "layer " + std::to_string(index) + " (" + std::string(LayerOpName(layer.op)) + " " +
         std::to_string(layer.cin) + "->" + std::to_string(layer.cout) + ")";
}

Parameter& Named(Module& module, const std::string& name) {
  std::vector<NamedParameter> parameters;
  module.CollectParameters("", parameters);
  for (const auto& p : parameters) {
    if (p.name == name) return *p.parameter;
  }
  HWNAS_CHECK(false);
}

// A trained network's batch norms are not the identity: random statistics make the folded
// bias and scales of the int8 path non-trivial.
std::unique_ptr<Module> RandomBatchNorm(int channels, Rng& rng) {
  auto bn = MakeBatchNorm(channels);
  auto fill = [&](const std::string& name, double lo, double hi) {
    for (float& v : Named(*bn, name).value) v = static_cast<float>(lo + (hi - lo) * rng.Uniform());
  };
  fill("weight", 0.5, 1.5);
  fill("bias", -0.2, 0.2);
  fill("running_mean", -0.1, 0.1);
  fill("running_var", 0.5, 1.5);
  return bn;
}

constexpr float kBatchNormEpsilon = 1e-5f;  // MakeBatchNorm's default

// The int8 format a calibration tensor quantizes to: u8 when it has no negative values.
QuantizedFormat FormatOf(const Tensor& t, bool is_unsigned) {
  const float max_abs = t.values.abs().maxCoeff();
  return {is_unsigned, max_abs > 0.0f ? max_abs / (is_unsigned ? 255.0f : 127.0f) : 1.0f};
}

Shape ShapeOf(const dnnl::memory::dims& dims) {
  return dims.size() == 4 ? Shape{static_cast<int>(dims[0]), static_cast<int>(dims[1]),
                                  static_cast<int>(dims[2]), static_cast<int>(dims[3])}
                          : Shape{static_cast<int>(dims[0]), static_cast<int>(dims[1]), 1, 1};
}

}  // namespace

std::string_view HostPrecisionName(HostPrecision precision) {
  switch (precision) {
    case HostPrecision::kInt8: return "int8";
    case HostPrecision::kBf16: return "bf16";
    case HostPrecision::kFp32: break;
  }
  return "fp32";
}

HostPrecision HostLayerPrecision(const Layer& layer, size_t index) {
  if (layer.op != LayerOp::kConv && layer.op != LayerOp::kLinear) return HostPrecision::kFp32;
  const LayerPolicy& p = layer.policy;
  auto refuse = [&](const std::string& why) {
    return UnsupportedError(LayerName(layer, index) + ": the host cannot run it: " + why);
  };
  if (!p.IsDense()) throw refuse("sparse and low-rank layers have no kernels here (dense only)");
  if (p.w_bits == 8 && p.a_bits == 8) return HostPrecision::kInt8;
  if (p.w_bits != 32 || p.a_bits != 32) {
    throw refuse("w" + std::to_string(p.w_bits) + "a" + std::to_string(p.a_bits) +
                 " has no kernel here (int8 = w8a8 and fp32 only)");
  }
  switch (p.float_format) {
    case FloatFormat::kRunDefault:
    case FloatFormat::kFp32:
      return HostPrecision::kFp32;
    case FloatFormat::kBf16:
      return HostPrecision::kBf16;  // Bf16WeightLayer refuses it where the CPU has no bf16
    default:
      throw refuse(std::string(FloatFormatName(p.float_format)) + " has no kernel on this CPU");
  }
  HWNAS_CHECK(false);
}

NetworkSpec HostDeployable(const NetworkSpec& spec) {
  NetworkSpec deployed = spec;
  deployed.layers.clear();
  std::vector<int> moved_to(spec.layers.size());  // old index -> new index, for residual_from
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    Layer layer = spec.layers[i];
    moved_to[i] = static_cast<int>(deployed.layers.size());
    if (layer.residual_from >= 0) layer.residual_from = moved_to[layer.residual_from];
    if (layer.op != LayerOp::kConv && layer.op != LayerOp::kLinear) {
      deployed.layers.push_back(layer);
      continue;
    }
    LayerPolicy& p = layer.policy;
    const bool quantized = p.w_bits <= 8 || p.a_bits <= 8;
    const double rank_ratio = p.rank_ratio;
    const FloatFormat float_format = p.float_format;
    p = LayerPolicy{};
    if (quantized) {
      p.w_bits = p.a_bits = 8;
    } else {
      p.float_format = float_format;  // a bf16 layer runs in bf16; one the host lacks is refused
    }
    if (rank_ratio < 1 && layer.groups == 1) {
      const int inputs = layer.op == LayerOp::kConv ? layer.cin * layer.kernel * layer.kernel : layer.cin;
      const int rank = std::max(1, static_cast<int>(std::lround(rank_ratio * std::min(layer.cout, inputs))));
      Layer first = layer, second = layer;
      first.cout = rank;
      second.cin = rank;
      if (layer.op == LayerOp::kConv) {
        second.kernel = 1;
        second.stride = 1;
        second.padding = 0;
        second.h_in = layer.HOut();
      }
      deployed.layers.push_back(first);
      deployed.layers.push_back(second);
      continue;
    }
    deployed.layers.push_back(layer);
  }
  return deployed;
}

namespace {

Timing SummaryOf(std::vector<double>& us, const TimingOptions& options) {
  std::sort(us.begin(), us.end());
  const size_t n = us.size();
  const double median = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  return {median, us.front(), us.back(), options.reps, options.warmups};
}

}  // namespace

Timing TimeRepeated(const TimingOptions& options, const std::function<void()>& run,
                    const std::function<void()>& prepare) {
  HWNAS_CHECK(options.reps > 0 && options.warmups >= 0);
  std::vector<double> us;
  us.reserve(options.reps);
  for (int i = 0; i < options.warmups + options.reps; ++i) {
    if (prepare) prepare();
    const auto start = std::chrono::steady_clock::now();
    run();
    const auto end = std::chrono::steady_clock::now();
    if (i >= options.warmups)
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  return SummaryOf(us, options);
}

// What flows between steps at run time. Int8 tensors live in the primitives' own memories,
// bound when the network is built, so only float tensors travel here.
struct State {
  Tensor current;
  std::vector<Tensor> saved;  // residual inputs; empty tensors for low-precision ones
};

struct Op {
  HostStep info;
  int saves = 0;  // residual blocks that start at this step: its input is kept for their add
  bool saves_float = true;  // that input is a float tensor (int8, bf16 stay in their memory)
  std::function<void(State&)> run;
};

// A value while the network is planned: its precision, and its oneDNN memory when not float.
struct Where {
  HostPrecision precision = HostPrecision::kFp32;
  QuantizedFormat int8;  // when int8
  dnnl::memory memory;
  bool is_float() const { return precision == HostPrecision::kFp32; }
};

struct HostNetwork::Impl {
  std::vector<Op> ops;
  std::vector<HostStep> steps;
  std::vector<std::unique_ptr<Module>> modules;
  std::vector<std::unique_ptr<OneDnnWeightLayer>> onednn_layers;
  std::vector<std::unique_ptr<ActivationReorder>> reorders;
  std::vector<std::unique_ptr<Int8Add>> int8_adds;
  Tensor input;

  void Save(State& state, size_t i) {
    for (int s = 0; s < ops[i].saves; ++s) {
      state.saved.push_back(ops[i].saves_float ? state.current : Tensor());
    }
  }

  void Run(State& state, size_t end) {
    for (size_t i = 0; i < end; ++i) {
      Save(state, i);
      ops[i].run(state);
    }
  }
};

// Builds the ops while a float copy of the input (`calibration`) goes through every layer at
// fp32: it gives the int8 scales at each point.
class HostNetwork::Planner {
 public:
  Planner(HostNetwork::Impl& impl, const NetworkSpec& spec, int batch, uint64_t seed)
      : impl_(impl), spec_(spec), batch_(batch), init_(seed) {}

  void Plan() {
    Rng data = init_.Fork(1);
    Tensor& input = impl_.input;
    input = Tensor({batch_, spec_.in_channels, spec_.in_size, spec_.in_size});
    for (float& v : input.values) v = static_cast<float>(2.0 * data.Uniform() - 1.0);
    calibration_ = input;
    const auto& layers = spec_.layers;
    for (size_t i = 0; i < layers.size();) {
      const int saves =
          static_cast<int>(std::count_if(layers.begin(), layers.end(), [&](const Layer& l) {
            return l.op == LayerOp::kAdd && l.residual_from == static_cast<int>(i);
          }));
      const Layer& layer = layers[i];
      const bool weight = layer.op == LayerOp::kConv || layer.op == LayerOp::kLinear;
      // A block whose first step runs in float keeps the float copy it makes anyway.
      if (saves > 0 && !where_.is_float() &&
          !(weight && HostLayerPrecision(layer, i) == where_.precision)) {
        ToFloat(static_cast<int>(i), false);
      }
      for (int s = 0; s < saves; ++s) {
        saved_where_.push_back(where_);
        saved_calibration_.push_back(calibration_);
      }
      pending_saves_ = saves;
      if (weight) {
        i = AddWeightStep(i);
      } else if (layer.op == LayerOp::kAdd) {
        AddResidualAdd(i);
        ++i;
      } else {
        AddFloatStep(
            i, 1, layer.op == LayerOp::kGlobalAvgPool ? "gap" : std::string(LayerOpName(layer.op)),
            MakeFloatModule(layer));
        ++i;
      }
    }
    if (!where_.is_float()) ToFloat(static_cast<int>(layers.size()), false);
  }

 private:
  void Push(HostStep info, std::function<void(State&)> run) {
    impl_.ops.push_back({info, pending_saves_, where_.is_float(), std::move(run)});
    impl_.steps.push_back(info);
    pending_saves_ = 0;
  }

  std::unique_ptr<Module> MakeFloatModule(const Layer& l) {
    switch (l.op) {
      case LayerOp::kConv:
        return MakeConv2d({.cin = l.cin,
                           .cout = l.cout,
                           .kernel = l.kernel,
                           .stride = l.stride,
                           .padding = l.padding,
                           .groups = l.groups},
                          init_);
      case LayerOp::kLinear:
        return MakeLinear(l.cin, l.cout, init_);
      case LayerOp::kBatchNorm:
        return RandomBatchNorm(l.cout, init_);
      case LayerOp::kRelu:
        return MakeRelu();
      case LayerOp::kRelu6:
        return MakeRelu6();
      case LayerOp::kAvgPool:
        return MakeAvgPool(l.kernel, l.stride, l.padding);
      case LayerOp::kMaxPool:
        return MakeMaxPool(l.kernel, l.stride, l.padding);
      case LayerOp::kGlobalAvgPool:
        return MakeGlobalAvgPool();
      case LayerOp::kAdd:
        break;
    }
    HWNAS_CHECK(false);
  }

  // A float step over modules: the nn engine in eval mode.
  void AddFloatStep(size_t first, int count, const std::string& kind,
                    std::vector<std::unique_ptr<Module>> modules) {
    if (!where_.is_float()) ToFloat(static_cast<int>(first), false);
    std::vector<Module*> run;
    for (auto& m : modules) {
      calibration_ = m->Forward(std::move(calibration_), Mode::kEval);
      run.push_back(m.get());
      impl_.modules.push_back(std::move(m));
    }
    Push({static_cast<int>(first), count, kind, HostPrecision::kFp32, "nn engine"},
         [run](State& s) {
           for (Module* m : run) s.current = m->Forward(std::move(s.current), Mode::kEval);
         });
  }
  void AddFloatStep(size_t first, int count, const std::string& kind,
                    std::unique_ptr<Module> module) {
    std::vector<std::unique_ptr<Module>> modules;
    modules.push_back(std::move(module));
    AddFloatStep(first, count, kind, std::move(modules));
  }

  // A conv or linear layer with the batch norm and activation right after it. Returns the
  // index of the next layer.
  size_t AddWeightStep(size_t first) {
    const auto& layers = spec_.layers;
    const Layer& layer = layers[first];
    const HostPrecision precision = HostLayerPrecision(layer, first);
    std::vector<std::unique_ptr<Module>> modules;
    modules.push_back(MakeFloatModule(layer));
    size_t end = first + 1;
    Module* bn = nullptr;
    PostActivation act = PostActivation::kNone;
    auto starts_residual = [&](size_t j) {
      return std::any_of(layers.begin(), layers.end(), [&](const Layer& l) {
        return l.op == LayerOp::kAdd && l.residual_from == static_cast<int>(j);
      });
    };
    if (end < layers.size() && layers[end].op == LayerOp::kBatchNorm && !starts_residual(end)) {
      modules.push_back(MakeFloatModule(layers[end++]));
      bn = modules.back().get();
    }
    if (end < layers.size() && !starts_residual(end) &&
        (layers[end].op == LayerOp::kRelu || layers[end].op == LayerOp::kRelu6)) {
      act = layers[end].op == LayerOp::kRelu ? PostActivation::kRelu : PostActivation::kRelu6;
      modules.push_back(MakeFloatModule(layers[end++]));
    }
    const std::string kind(LayerOpName(layer.op));
    const int count = static_cast<int>(end - first);
    if (precision == HostPrecision::kFp32) {
      AddFloatStep(first, count, kind, std::move(modules));
      return end;
    }

    FoldedWeights folded;
    folded.weights = Named(*modules[0], "weight").value.data();
    folded.bias.assign(layer.cout, 0.0f);
    folded.bn_scale.assign(layer.cout, 1.0f);
    if (layer.op == LayerOp::kLinear) {
      const auto& b = Named(*modules[0], "bias").value;
      folded.bias.assign(b.data(), b.data() + b.size());
    }
    if (bn) {
      for (int c = 0; c < layer.cout; ++c) {
        const float scale = Named(*bn, "weight").value[c] /
                            std::sqrt(Named(*bn, "running_var").value[c] + kBatchNormEpsilon);
        folded.bn_scale[c] = scale;
        folded.bias[c] = Named(*bn, "bias").value[c] - Named(*bn, "running_mean").value[c] * scale;
      }
    }
    // Another low precision arrives as float first: oneDNN reorders int8 <-> bf16 no better.
    if (!where_.is_float() && where_.precision != precision) {
      ToFloat(static_cast<int>(first), false);
    }
    std::unique_ptr<OneDnnWeightLayer> kernel;
    Where out;
    if (precision == HostPrecision::kBf16) {
      for (auto& m : modules) calibration_ = m->Forward(std::move(calibration_), Mode::kEval);
      kernel = std::make_unique<Bf16WeightLayer>(layer, batch_, folded, act);
      if (where_.is_float()) ToLow(first, HostPrecision::kBf16, {}, kernel->input());
    } else {
      const QuantizedFormat in = where_.is_float()
                                     ? FormatOf(calibration_, calibration_.values.minCoeff() >= 0)
                                     : where_.int8;
      for (auto& m : modules) calibration_ = m->Forward(std::move(calibration_), Mode::kEval);
      out.int8 = FormatOf(calibration_, act != PostActivation::kNone);
      kernel = std::make_unique<Int8WeightLayer>(layer, batch_, folded, act, in, out.int8);
      if (where_.is_float()) ToLow(first, HostPrecision::kInt8, in, kernel->input());
    }
    // The producer's bytes seen with this kernel's descriptor: an N x C x 1 x 1 NHWC tensor is
    // the N x C matrix a matmul reads.
    kernel->set_input(
        dnnl::memory(kernel->input().get_desc(), CpuEngine(), where_.memory.get_data_handle()));
    OneDnnWeightLayer* run = kernel.get();
    Push({static_cast<int>(first), count, kind, precision, kernel->implementation()},
         [run](State&) { run->Execute(); });
    out.precision = precision;
    out.memory = kernel->output();
    where_ = out;
    impl_.onednn_layers.push_back(std::move(kernel));
    return end;
  }

  // The current float tensor into a low precision, in a memory laid out like `like`.
  void ToLow(size_t layer, HostPrecision precision, QuantizedFormat format,
             const dnnl::memory& like) {
    const bool int8 = precision == HostPrecision::kInt8;
    auto reorder = std::make_unique<ActivationReorder>(
        ActivationReorder::Direction::kToLow, like.get_desc().dims(),
        int8 ? format.type() : dnnl::memory::data_type::bf16, int8 ? format.scale : 1.0f);
    ActivationReorder* run = reorder.get();
    Push({static_cast<int>(layer), 0, "quantize", precision, "oneDNN reorder"},
         [run](State& s) { run->Execute(s.current.values.data()); });
    where_ = {precision, format, reorder->low_memory()};
    impl_.reorders.push_back(std::move(reorder));
  }

  // The current tensor, or the residual input on top of the stack, back to floats.
  void ToFloat(int layer, bool saved) {
    Where& where = saved ? saved_where_.back() : where_;
    const Shape shape = ShapeOf(where.memory.get_desc().dims());
    const bool int8 = where.precision == HostPrecision::kInt8;
    auto reorder = std::make_unique<ActivationReorder>(
        ActivationReorder::Direction::kToFloat, where.memory.get_desc().dims(),
        where.memory.get_desc().data_type(), int8 ? where.int8.scale : 1.0f);
    reorder->set_low_memory(where.memory);
    ActivationReorder* run = reorder.get();
    Push({layer, 0, "dequantize", where.precision, "oneDNN reorder"},
         [run, shape, saved](State& s) {
           Tensor& target = saved ? s.saved.back() : s.current;
           target = Tensor(shape);
           run->Execute(target.values.data());
         });
    where = {};
    impl_.reorders.push_back(std::move(reorder));
  }

  void AddResidualAdd(size_t index) {
    HWNAS_CHECK(!saved_where_.empty());
    if (where_.precision == HostPrecision::kInt8 &&
        saved_where_.back().precision == HostPrecision::kInt8) {
      AddInt8ResidualAdd(index);
      return;
    }
    if (!saved_where_.back().is_float()) ToFloat(static_cast<int>(index), true);
    if (!where_.is_float()) ToFloat(static_cast<int>(index), false);
    calibration_.values += saved_calibration_.back().values;
    saved_calibration_.pop_back();
    saved_where_.pop_back();
    Push({static_cast<int>(index), 1, "add", HostPrecision::kFp32, "nn engine"}, [](State& s) {
      s.current.values += s.saved.back().values;
      s.saved.pop_back();
    });
  }

  // Both inputs int8: added at int8, the sum quantized by its range over the calibration pass.
  void AddInt8ResidualAdd(size_t index) {
    const Where saved = saved_where_.back();
    calibration_.values += saved_calibration_.back().values;
    saved_calibration_.pop_back();
    saved_where_.pop_back();
    Where out;
    out.precision = HostPrecision::kInt8;
    out.int8 = FormatOf(calibration_, where_.int8.is_unsigned && saved.int8.is_unsigned);
    auto add = std::make_unique<Int8Add>(where_.memory, where_.int8, saved.memory, saved.int8,
                                         out.int8);
    Int8Add* run = add.get();
    Push({static_cast<int>(index), 1, "add", HostPrecision::kInt8, add->implementation()},
         [run](State& s) {
           run->Execute();
           s.saved.pop_back();
         });
    out.memory = add->output();
    where_ = out;
    impl_.int8_adds.push_back(std::move(add));
  }

  HostNetwork::Impl& impl_;
  const NetworkSpec& spec_;
  int batch_;
  Rng init_;
  Tensor calibration_;
  std::vector<Tensor> saved_calibration_;
  Where where_;
  std::vector<Where> saved_where_;
  int pending_saves_ = 0;
};

HostNetwork::HostNetwork(const NetworkSpec& spec, int batch, uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  KeepFreedActivationMemory();
  Planner(*impl_, spec, batch, seed).Plan();
}

HostNetwork::~HostNetwork() = default;

Tensor HostNetwork::Forward() {
  State state{impl_->input, {}};
  impl_->Run(state, impl_->ops.size());
  return std::move(state.current);
}

const Tensor& HostNetwork::input() const { return impl_->input; }

const std::vector<HostStep>& HostNetwork::steps() const { return impl_->steps; }

Timing HostNetwork::TimeForward(const TimingOptions& options) {
  return TimeRepeated(options, [&] { Forward(); });
}

Timing HostNetwork::TimeStep(size_t i, const TimingOptions& options) {
  HWNAS_CHECK(i < impl_->ops.size());
  State before{impl_->input, {}};
  impl_->Run(before, i);
  impl_->Save(before, i);
  State state;
  return TimeRepeated(
      options, [&] { impl_->ops[i].run(state); }, [&] { state = before; });
}

std::vector<Timing> HostNetwork::TimeStepsInPass(const TimingOptions& options) {
  HWNAS_CHECK(options.reps > 0 && options.warmups >= 0);
  const size_t n = impl_->ops.size();
  std::vector<std::vector<double>> us(n);
  for (int rep = 0; rep < options.warmups + options.reps; ++rep) {
    State state{impl_->input, {}};
    for (size_t i = 0; i < n; ++i) {
      impl_->Save(state, i);
      const auto start = std::chrono::steady_clock::now();
      impl_->ops[i].run(state);
      const auto end = std::chrono::steady_clock::now();
      if (rep >= options.warmups) {
        us[i].push_back(std::chrono::duration<double, std::micro>(end - start).count());
      }
    }
  }
  std::vector<Timing> timings;
  for (auto& samples : us) timings.push_back(SummaryOf(samples, options));
  return timings;
}

}  // namespace hwnas
