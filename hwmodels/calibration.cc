#include "hwmodels/calibration.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include <Eigen/Dense>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "core/errors.h"
#include "hwmodels/dtype.h"
#include "hwmodels/roofline.h"

namespace hwnas {

namespace {

enum class Term { kCompute, kBandwidth, kOverhead, kHalfMacs, kHalfBytes, kGroup, kEager };

struct Parameter {
  std::string key;  // efficiency key, or "" for the eager dispatch cost
  Term term;
};

// Keeps parameters the data cannot see (the bandwidth of a step that is always compute-bound)
// near their starting value instead of drifting.
constexpr double kAnchorWeight = 1e-2;
constexpr double kStep = 1e-4;  // finite-difference step in log space
constexpr int kMaxIterations = 100;

double Median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return std::max(values[values.size() / 2], 1e-6);
}

class Fit {
 public:
  Fit(const DeviceSpec& base, const std::vector<MeasuredNetwork>& samples)
      : base_(base), samples_(samples) {
    std::set<std::string> keys;
    for (size_t i = 0; i < samples.size(); ++i) {
      CostOptions options = samples[i].options;
      options.breakdown = true;
      const DeviceCost cost = RooflineCost(base, "calibration", samples[i].spec, options);
      if (!cost.ok) throw ConfigError(samples[i].id + ": " + cost.error);
      for (const auto& step : cost.layers) {
        keys.insert(step.efficiency);
        users_of_key_[step.efficiency].insert(i);
        step_sizes_[step.efficiency].first.push_back(step.macs * 1e-6);
        step_sizes_[step.efficiency].second.push_back(step.bytes * 1e-3);
      }
      if (options.mode == ExecutionMode::kEager) eager_users_.insert(i);
    }
    for (const auto& key : keys) {
      // A batch-1 entry is other kernels on the same memory: it shares its batched entry's
      // bandwidth, and fits only how fast it computes and launches. Fitted freely, its bandwidth
      // share sank to 0.009 on H100 (a per-byte cost for mid-size layers) and predicted a
      // held-out 56 MB layer at 6x its measured time.
      const std::string batched = key.substr(0, key.rfind('@'));
      const bool tied = key != batched && keys.count(batched);
      if (tied) {
        tied_to_[key] = batched;
        users_of_key_[batched].insert(users_of_key_[key].begin(), users_of_key_[key].end());
      }
      for (Term term : {Term::kCompute, Term::kBandwidth, Term::kOverhead, Term::kHalfMacs,
                        Term::kHalfBytes}) {
        if (tied && (term == Term::kBandwidth || term == Term::kHalfBytes)) continue;
        parameters_.push_back({key, term});
      }
      // Only grouped convs have a per-group cost to see.
      if (key.starts_with("depthwise")) parameters_.push_back({key, Term::kGroup});
    }
    if (!eager_users_.empty()) parameters_.push_back({"", Term::kEager});
  }

  const std::vector<Parameter>& parameters() const { return parameters_; }

  DeviceSpec Apply(const Eigen::VectorXd& x) const {
    DeviceSpec spec = base_;
    for (size_t j = 0; j < parameters_.size(); ++j) {
      const Parameter& p = parameters_[j];
      // Shares stay within what ParseDeviceSpec accepts, so a fitted file always loads.
      const double value = p.term == Term::kCompute || p.term == Term::kBandwidth
                               ? std::clamp(std::exp(x[j]), 1e-6, 10.0)
                               : std::exp(x[j]);
      if (p.term == Term::kEager) {
        spec.eager_overhead_us = value;
        continue;
      }
      Efficiency& e = spec.efficiency[p.key];
      if (p.term == Term::kCompute) e.compute = value;
      if (p.term == Term::kBandwidth) e.bandwidth = value;
      if (p.term == Term::kOverhead) e.overhead_us = value;
      if (p.term == Term::kHalfMacs) e.half_mmacs = value;
      if (p.term == Term::kHalfBytes) e.half_kbytes = value;
      if (p.term == Term::kGroup) e.group_us = value;
    }
    for (const auto& [key, batched] : tied_to_) {
      spec.efficiency[key].bandwidth = spec.efficiency[batched].bandwidth;
      spec.efficiency[key].half_kbytes = spec.efficiency[batched].half_kbytes;
    }
    return spec;
  }

  // `ramped`: small steps start less efficient than large ones; else the ramps start off.
  Eigen::VectorXd Start(double compute, double bandwidth, bool ramped) const {
    const double ramp_scale = ramped ? 1.0 : 1e-4;
    Eigen::VectorXd x(parameters_.size());
    for (size_t j = 0; j < parameters_.size(); ++j) {
      switch (parameters_[j].term) {
        case Term::kCompute: x[j] = std::log(compute); break;
        case Term::kBandwidth: x[j] = std::log(bandwidth); break;
        case Term::kOverhead: x[j] = std::log(std::max(base_.overhead_us, 0.5)); break;
        // Ramps start at the median size of the key's steps, where their gradient is largest.
        case Term::kHalfMacs:
          x[j] = std::log(ramp_scale * Median(step_sizes_.at(parameters_[j].key).first));
          break;
        case Term::kHalfBytes:
          x[j] = std::log(ramp_scale * Median(step_sizes_.at(parameters_[j].key).second));
          break;
        case Term::kGroup: x[j] = std::log(0.01); break;
        case Term::kEager: x[j] = std::log(std::max(base_.eager_overhead_us, 5.0)); break;
      }
    }
    return x;
  }

  // Relative errors of the samples in `which` (all when null) into r.
  void Residuals(const Eigen::VectorXd& x, Eigen::VectorXd& r,
                 const std::set<size_t>* which = nullptr) const {
    const DeviceSpec spec = Apply(x);
    auto one = [&](size_t i) {
      const DeviceCost cost = RooflineCost(spec, "calibration", samples_[i].spec,
                                           samples_[i].options);
      r[i] = cost.latency_ms / samples_[i].measured_ms - 1.0;
    };
    if (which) {
      const std::vector<size_t> list(which->begin(), which->end());
      tbb::parallel_for(size_t{0}, list.size(), [&](size_t k) { one(list[k]); });
    } else {
      tbb::parallel_for(size_t{0}, samples_.size(), one);
    }
  }

  const std::set<size_t>& Users(size_t j) const {
    const Parameter& p = parameters_[j];
    return p.term == Term::kEager ? eager_users_ : users_of_key_.at(p.key);
  }

  // Levenberg-Marquardt from x; returns the sum of squares it reached.
  double Solve(Eigen::VectorXd& x, int& iterations) const {
    const size_t n = samples_.size();
    const size_t p = parameters_.size();
    const Eigen::VectorXd anchor = x;
    auto objective = [&](const Eigen::VectorXd& at, Eigen::VectorXd& r) {
      Residuals(at, r);
      return r.squaredNorm() + kAnchorWeight * (at - anchor).squaredNorm();
    };
    Eigen::VectorXd r(n);
    double cost = objective(x, r);
    double damping = 1e-3;
    for (iterations = 0; iterations < kMaxIterations; ++iterations) {
      Eigen::MatrixXd jacobian = Eigen::MatrixXd::Zero(n, p);
      for (size_t j = 0; j < p; ++j) {
        Eigen::VectorXd shifted = x;
        shifted[j] += kStep;
        Eigen::VectorXd r_shifted = r;
        Residuals(shifted, r_shifted, &Users(j));
        jacobian.col(j) = (r_shifted - r) / kStep;
      }
      const Eigen::MatrixXd normal =
          jacobian.transpose() * jacobian + kAnchorWeight * Eigen::MatrixXd::Identity(p, p);
      const Eigen::VectorXd gradient =
          jacobian.transpose() * r + kAnchorWeight * (x - anchor);
      bool improved = false;
      while (damping < 1e10) {
        Eigen::MatrixXd damped = normal;
        damped.diagonal() += damping * (normal.diagonal().array() + 1e-9).matrix();
        const Eigen::VectorXd candidate = x - damped.ldlt().solve(gradient);
        Eigen::VectorXd r_candidate(n);
        const double candidate_cost = objective(candidate, r_candidate);
        if (candidate_cost < cost) {
          const double gain = (cost - candidate_cost) / cost;
          x = candidate;
          r = r_candidate;
          cost = candidate_cost;
          damping = std::max(damping / 3, 1e-9);
          improved = gain > 1e-9;
          break;
        }
        damping *= 4;
      }
      if (!improved) break;
    }
    return cost;
  }

  double RmsError(const Eigen::VectorXd& x) const {
    Eigen::VectorXd r(samples_.size());
    Residuals(x, r);
    return std::sqrt(r.squaredNorm() / static_cast<double>(samples_.size()));
  }

 private:
  const DeviceSpec& base_;
  const std::vector<MeasuredNetwork>& samples_;
  std::vector<Parameter> parameters_;
  std::map<std::string, std::set<size_t>> users_of_key_;
  // A batch-1 key -> the batched key whose memory terms it shares.
  std::map<std::string, std::string> tied_to_;
  std::set<size_t> eager_users_;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> step_sizes_;
};

}  // namespace

CalibrationResult Calibrate(const DeviceSpec& base, const std::vector<MeasuredNetwork>& samples,
                            int threads) {
  if (samples.empty()) throw ConfigError("calibration needs at least one measurement");
  for (const auto& sample : samples) {
    if (!(sample.measured_ms > 0)) throw ConfigError(sample.id + ": measured time must be > 0");
  }
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  CalibrationResult result;
  arena.execute([&] {
    const Fit fit(base, samples);
    double best = std::numeric_limits<double>::infinity();
    Eigen::VectorXd best_x;
    // Compute-bound, memory-bound and balanced starts, with and without size ramps.
    for (const auto& [compute, bandwidth, ramped] :
         std::vector<std::tuple<double, double, bool>>{{0.5, 0.5, true},
                                                       {0.1, 1.0, true},
                                                       {1.0, 0.1, true},
                                                       {0.5, 0.5, false},
                                                       {0.1, 1.0, false},
                                                       {1.0, 0.1, false}}) {
      Eigen::VectorXd x = fit.Start(compute, bandwidth, ramped);
      int iterations = 0;
      const double cost = fit.Solve(x, iterations);
      result.iterations += iterations;
      if (cost < best) {
        best = cost;
        best_x = x;
      }
    }
    result.fitted = fit.Apply(best_x);
    result.rms_relative_error = fit.RmsError(best_x);
    for (const auto& p : fit.parameters()) {
      if (p.term == Term::kCompute) result.fitted_keys.push_back(p.key);
      if (p.term == Term::kEager) result.fitted_keys.push_back("eager_overhead_us");
    }
  });
  return result;
}

namespace {

double TimedUs(const Measurement& row, TimingStatistic timing) {
  return timing == TimingStatistic::kMin ? row.min_us : row.median_us;
}

// A network's run: the rows of one network at one batch, dtype and mode.
std::string RunOf(const Measurement& row) {
  return row.net + "/" + std::to_string(row.batch) + "/" + row.dtype + "/" + row.mode;
}

// The network's time over the sum of its rows, by run, for the runs whose rows time every unit
// of the network. A layer timed alone repeats on one input (on the H100, 10 back-to-back calls
// in a CUDA graph); a network in graph mode ran 0.87-1.14x the sum of its layers, more where
// its activations are several MB, and nothing in a layer's own row says by how much.
std::map<std::string, double> ContextScales(const DeviceSpec& fitted,
                                            const std::vector<Measurement>& rows,
                                            const std::map<std::string, NetworkSpec>& nets,
                                            TimingStatistic timing) {
  std::map<std::string, std::pair<double, size_t>> layers;  // summed time and rows, by run
  for (const auto& row : rows) {
    if (row.IsNetwork() || row.net.empty()) continue;
    auto& [sum_us, count] = layers[RunOf(row)];
    sum_us += TimedUs(row, timing);
    ++count;
  }
  std::map<std::string, double> scales;
  for (const auto& row : rows) {
    const auto run = layers.find(RunOf(row));
    if (!row.IsNetwork() || run == layers.end()) continue;
    const MeasuredNetwork network = PairMeasurements({row}, nets, timing)[0];
    const auto& [sum_us, count] = run->second;
    if (RooflineUnits(fitted, network.spec, network.options).size() == count && sum_us > 0) {
      scales[run->first] = TimedUs(row, timing) / sum_us;
    }
  }
  return scales;
}

}  // namespace

LayerResiduals FitResiduals(const DeviceSpec& fitted, const std::vector<Measurement>& rows,
                            const std::map<std::string, NetworkSpec>& nets,
                            TimingStatistic timing, int neighbours) {
  const std::map<std::string, double> scales = ContextScales(fitted, rows, nets, timing);
  LayerResiduals residuals(neighbours);
  for (const auto& row : rows) {
    if (row.IsNetwork()) continue;
    const auto scale = scales.find(RunOf(row));
    const double measured_us =
        TimedUs(row, timing) * (scale == scales.end() ? 1.0 : scale->second);
    if (row.IsConversion()) {
      CostOptions options;
      options.batch = row.batch;
      const auto unit = RooflineConversion(fitted, row.from_dtype, row.dtype, row.shape.cin,
                                           row.shape.h_in, options);
      if (unit && unit->latency_us > 0) {
        residuals.Add(unit->signature, std::log(measured_us / unit->latency_us));
      }
      continue;
    }
    // An add at an integer width reads two tensors stored at it, which a network of the add
    // alone cannot give: its efficiency comes from the networks, not a residual of its own.
    if (row.kind == "add" && ParseDtype(row.dtype)->policy.a_bits <= 8) continue;
    const MeasuredNetwork layer = PairMeasurements({row}, {}, timing)[0];
    // The layer's unit: a conversion into its width ahead of it is a unit of its own.
    std::vector<UnitCost> units = RooflineUnits(fitted, layer.spec, layer.options);
    std::erase_if(units, [](const UnitCost& u) { return u.signature.IsConversion(); });
    if (units.size() != 1 || !(units[0].latency_us > 0)) continue;
    residuals.Add(units[0].signature, std::log(measured_us / units[0].latency_us));
  }
  return residuals;
}

}  // namespace hwnas
