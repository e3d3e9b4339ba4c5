// The roofline cost of a network on an analytic device. Per step (a layer, or a run of layers
// the device fuses):
//   latency = max(MACs / (peak(precision) x compute efficiency),
//                 bytes / (bandwidth x bandwidth efficiency)) + launch overhead
// and energy = MACs x pJ/MAC(precision) + bytes x pJ/byte + static power x latency.
//
// Compression changes all three terms:
//   - precision: float layers run at their own or the run's float format; integer layers at
//     w<b>a<b> or int<max(w,a)> when native, else as the device's unsupported_bits says;
//     weight-only quantization computes in float and moves low-bit weights;
//   - sparsity: channel pruning shrinks the layer; N:M runs faster where the device lists a
//     speed-up and stores N/M of the weights plus log2(M) index bits per kept weight;
//     unstructured sparsity pays only below the device's density threshold and stores a
//     bitmap or 16-bit indices, whichever is smaller;
//   - rank: a factorised layer costs as its two factor layers (k x k to r, then 1 x 1);
//   - fusion: fused runs skip the intermediate activations' traffic and launch once.
// Activations of a step that fit in on-chip memory move no DRAM bytes. In eager mode no op
// fuses and every op costs at least the framework's dispatch time.
#pragma once

#include <optional>

#include "hwmodels/device_model.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/layer_residuals.h"

namespace hwnas {

// With residuals (a calibrated device's), each unit's time is scaled by its factor.
DeviceCost RooflineCost(const DeviceSpec& device, const std::string& device_name,
                        const NetworkSpec& spec, const CostOptions& options,
                        const LayerResiduals* residuals = nullptr);

// A unit of a network (a layer with the batch norm and activation after it, or a conversion
// between two widths ahead of a step) and its roofline latency at the batch asked, which
// residuals are measured against. Empty when the network cannot be costed.
struct UnitCost {
  UnitSignature signature;
  double latency_us = 0;
};
std::vector<UnitCost> RooflineUnits(const DeviceSpec& device, const NetworkSpec& spec,
                                    const CostOptions& options);
// A tensor of `channels` x `height` x `height` per image converted from dtype `from` to `to`
// (measurement dtype names: fp32, bf16, int8, ...) as one unit; nullopt for a dtype the
// device does not run.
std::optional<UnitCost> RooflineConversion(const DeviceSpec& device, const std::string& from,
                                           const std::string& to, int channels, int height,
                                           const CostOptions& options);

// Kinds `roofline` (published figures) and `calibrated` (efficiencies fitted by
// `hwnas hw calibrate`, with a `calibration:` record of what they were fitted on, and
// optionally the `residuals:` of the layers it was fitted on).
std::unique_ptr<DeviceModel> MakeRooflineDeviceModel(const ConfigNode& config, DeviceInfo info);

}  // namespace hwnas
