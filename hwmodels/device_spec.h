// What an analytic device YAML (kinds `roofline` and `calibrated`) says about the hardware:
// peak throughput per precision, memory, launch overheads, sparse support, energy, fusion, and
// the efficiencies a calibration fitted. Every key is documented in configs/README.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config_node.h"

namespace hwnas {

// How fast a kind of op really runs at one precision, as a share of the device's peak.
// Small ops fill a parallel device only partly: the shares ramp up with the op's size as
// size / (size + half size), reaching half their value at the half size (0 = no ramp).
struct Efficiency {
  double compute = 1.0;    // share of peak throughput
  double bandwidth = 1.0;  // share of peak memory bandwidth
  std::optional<double> overhead_us;  // one launch of this op; the device's overhead_us if unset
  double half_mmacs = 0;   // MACs (millions) at which compute reaches half its share
  double half_kbytes = 0;  // bytes (thousands) at which bandwidth reaches half its share
  double group_us = 0;     // per group and image of a grouped conv run group by group
  bool operator==(const Efficiency&) const = default;
};

// What to do with an integer bit width the device does not execute natively.
enum class UnsupportedBits {
  kNextSupported,  // run at the next wider native integer width (int6 -> int8)
  kDequantize,     // unpack to the float format and compute there; bytes stay at the low width
};

// The op kinds efficiencies are keyed by.
const std::vector<std::string>& EfficiencyOpKinds();

struct DeviceSpec {
  // Peak throughput in tera-ops per second (one MAC = 2 ops) by precision key: fp32, tf32,
  // fp16, bf16, fp8 for floats; int<b> for integer arithmetic at b bits; w<b>a<b> for a device
  // with a distinct rate for a weight/activation pair (w8a16 = int8 weights, 16-bit floats).
  std::map<std::string, double> peak_tops;
  std::vector<int> native_int_bits;  // the int<b> keys of peak_tops, sorted
  UnsupportedBits unsupported_bits = UnsupportedBits::kNextSupported;
  // Kernels for one low-bit operand with one float (weight-only int8): when false, such a layer
  // runs in the integer kernels, its float operand quantized to the widest native width.
  bool weight_only_kernels = true;

  double bandwidth_gbs = 0;          // DRAM bandwidth, GB/s
  double on_chip_bytes = 0;          // a layer whose data fits here moves only its weights
  double overhead_us = 0;            // per launched op (kernel) in graph mode
  double eager_overhead_us = 0;      // framework dispatch per op in eager mode

  std::map<std::string, double> n_of_m_speedup;  // "2:4" -> compute speed-up
  double unstructured_density_below = 0;          // sparse kernels pay below this density
  double unstructured_efficiency = 1;             // their compute efficiency against dense
  // Channels pruned to zero are dropped (a smaller layer); false: the runtime runs them in the
  // dense kernel, so channel pruning saves nothing (hwnas's host).
  bool skips_pruned_channels = true;

  // Energy: per MAC by precision key, per DRAM byte, and static power while running.
  std::map<std::string, double> pj_per_mac;
  double pj_per_byte = 0;
  double static_w = 0;
  bool has_energy = false;

  // Runs of ops the runtime fuses, longest first; `precision` limits one to steps whose lead
  // layer runs at that precision (oneDNN fuses int8 conv+bn+relu, an eager fp32 engine not).
  struct Fusion {
    std::vector<std::string> ops;  // e.g. {conv, bn, relu}
    std::string precision;         // "" = any
  };
  std::vector<Fusion> fusions;
  bool prunes_unused_ops = false;  // the runtime drops layers marked removable

  // The runtime runs batch-1 steps with kernels of their own (cuDNN and cuBLAS choose them by
  // shape, batch included), so batch-1 steps have their own efficiencies, "kind/precision@b1".
  bool batch1_kernels = false;

  // The runtime converts between two low widths (int8 to bf16) through the float format: two
  // passes, as hwnas's host runtime does, instead of one direct reorder.
  bool converts_through_float = false;

  // The runtime adds two tensors stored at the same integer width at that width (oneDNN's
  // binary add, TFLite's quantized add) instead of dequantizing both to the float format.
  bool integer_adds = false;

  // "kind", "kind/precision" or "kind/precision@b1" -> efficiency; "default" covers the rest.
  std::map<std::string, Efficiency> efficiency;

  // The key a step's efficiency is fitted under: kind/precision, plus @b1 for a batch-1 step
  // on a device with batch1_kernels.
  std::string EfficiencyKey(const std::string& kind, const std::string& precision, int batch) const;
  // Looks up the most specific efficiency: that key, then kind/precision, kind, default.
  const Efficiency& EfficiencyFor(const std::string& kind, const std::string& precision,
                                  int batch = 2) const;
};

// Reads every key but name/description/kind/calibration of an analytic device YAML.
DeviceSpec ParseDeviceSpec(const ConfigNode& config);

// The YAML text of a spec (the same keys ParseDeviceSpec reads), for `hwnas hw calibrate`.
std::string DeviceSpecYaml(const DeviceSpec& spec);

}  // namespace hwnas
