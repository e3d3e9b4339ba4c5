// How well the shipped device models predict measurements they were not fitted on, per device:
// the share within +-10% (nn-Meter's headline metric), MAPE, and rank correlation.
//
// "ceiling" is the Kendall tau of the best any model could do that sees only the layers a
// device runs: the mean measured latency of the networks whose costed layers are identical.
// Where it is below the target, the measurements themselves disagree that much (noise, or
// effects no layer list shows).
//
// Also: the FBNet look-up-table sums against HW-NAS-Bench's 5,000 reference architectures.
//
// usage: device_models            (run from anywhere; reads configs/ and data/ of the tree)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/config_node.h"
#include "core/csv_table.h"
#include "core/errors.h"
#include "core/rank_correlation.h"
#include "hwmodels/calibration_record.h"
#include "hwmodels/device_spec.h"
#include "hwmodels/host/host_network.h"
#include "hwmodels/measured_network.h"
#include "hwmodels/net_file.h"
#include "hwmodels/validation.h"
#include "search/search_space.h"

using namespace hwnas;

namespace {

const std::string kHome = HWNAS_SOURCE_DIR;

std::string Path(const std::string& relative) { return kHome + "/" + relative; }

// The layers a device costs and their precision, as text: networks with equal keys look the same to
// any model.
std::string CostedLayersKey(const NetworkSpec& spec, bool prunes) {
  std::string key;
  for (const auto& l : spec.layers) {
    if (prunes && l.removable) continue;
    key += std::string(LayerOpName(l.op)) + ":" + std::to_string(l.cin) + "," +
           std::to_string(l.cout) + "," + std::to_string(l.kernel) + "," +
           std::to_string(l.stride) + "," + std::to_string(l.groups) + "," +
           std::to_string(l.h_in) + ",w" + std::to_string(l.policy.w_bits) + "a" +
           std::to_string(l.policy.a_bits) + std::string(FloatFormatName(l.policy.float_format)) +
           ";";
  }
  return key;
}

double CeilingKendall(const std::vector<MeasuredNetwork>& truth, bool prunes) {
  std::map<std::string, std::pair<double, int>> groups;
  std::vector<std::string> keys;
  for (const auto& m : truth) {
    keys.push_back(CostedLayersKey(m.spec, prunes) + std::to_string(m.options.batch) +
                   std::to_string(static_cast<int>(m.options.float_format)));
    auto& [sum, count] = groups[keys.back()];
    sum += m.measured_ms;
    ++count;
  }
  std::vector<double> best, measured;
  for (size_t i = 0; i < truth.size(); ++i) {
    const auto& [sum, count] = groups[keys[i]];
    best.push_back(sum / count);
    measured.push_back(truth[i].measured_ms);
  }
  return KendallTau(best, measured);
}

struct Case {
  std::string device;
  std::string truth_label;
  std::vector<MeasuredNetwork> truth;
  std::string target;
};

void PrintRow(const Case& c) {
  const std::string path = Path("configs/devices/" + c.device + ".yaml");
  const auto device = LoadDeviceModel(path);
  const ConfigNode config = ConfigNode::LoadFile(path);
  const bool prunes = config.Has("prunes_unused_ops") && config.Bool("prunes_unused_ops", false);
  const ValidationReport r = ValidateDevice(*device, c.truth);
  std::printf("| %-18s | %-10s | %-36s | %6d | %7.1f%% | %6.1f%% | %8.3f | %7.3f | %7.3f | %-24s |\n",
              c.device.c_str(), device->info().kind.c_str(), c.truth_label.c_str(), r.count,
              100 * r.within_10_percent, 100 * r.mape, r.spearman, r.kendall,
              CeilingKendall(c.truth, prunes), c.target.c_str());
}

// Measurement rows of `files` the device was not fitted on, of one mode. Their nets are those
// of `nets_file`, or candidates of `space_file` as `hw measure --candidate` timed them, or with
// `as_searched` as a search costs them: their own policies, which the device must map to what
// the host runs.
std::vector<MeasuredNetwork> HeldOutRows(const std::string& device, const std::string& files,
                                         const std::string& nets_file, const std::string& mode,
                                         TimingStatistic timing = TimingStatistic::kMedian,
                                         const std::string& space_file = "",
                                         bool as_searched = false) {
  const CalibrationRecord record =
      ReadCalibrationRecord(Path("configs/devices/" + device + ".yaml"));
  std::map<std::string, NetworkSpec> nets;
  if (!nets_file.empty()) {
    for (auto& spec : LoadNetsFile(Path(nets_file))) nets.emplace(spec.key, std::move(spec));
  }
  std::vector<Measurement> rows;
  for (auto& row : LoadMeasurements(Path(files))) {
    if (!record.Covers(row) && row.IsNetwork() && row.mode == mode) rows.push_back(row);
  }
  if (!space_file.empty()) {
    const auto space = LoadSearchSpace(Path(space_file));
    for (const auto& row : rows) {
      const NetworkSpec spec = space->Expand(space->Parse(row.net));
      nets.emplace(row.net, as_searched ? spec : HostDeployable(spec));
    }
  }
  return PairMeasurements(rows, nets, timing);
}

// Every NAS-Bench-201 architecture a table device measured, but the calibration's 100.
std::vector<MeasuredNetwork> Nb201HeldOut(const std::string& table_device,
                                          const std::string& calibrated) {
  const auto space = LoadSearchSpace(Path("configs/spaces/nb201.yaml"));
  std::vector<NetworkSpec> networks;
  for (const auto& candidate : space->AllValid()) networks.push_back(space->Expand(candidate));
  const auto truth = LoadDeviceModel(Path("configs/devices/" + table_device + ".yaml"));
  const CalibrationRecord record =
      ReadCalibrationRecord(Path("configs/devices/" + calibrated + ".yaml"));
  std::vector<MeasuredNetwork> held_out;
  for (auto& m : MeasureWith(*truth, networks, *ParseDtype("fp32"))) {
    if (!record.nets.count(m.net)) held_out.push_back(std::move(m));
  }
  return held_out;
}

void PrintLutSums() {
  const auto space = LoadSearchSpace(Path("configs/spaces/fbnet-cifar100.yaml"));
  const CsvTable reference = CsvTable::Load(Path("data/hw-nas-bench/fbnet_cifar100_reference_archs.csv"));
  const int stage_layers[] = {1, 4, 4, 4, 4, 4, 1};
  std::printf("\nFBNet look-up-table sums against HW-NAS-Bench's reference architectures (cifar100)\n");
  std::printf("| device        | architectures | max abs difference (ms) | exact |\n");
  std::printf("|---------------|---------------|-------------------------|-------|\n");
  for (const std::string device : {"raspi4", "pixel3", "eyeriss", "fpga"}) {
    const auto lut = LoadDeviceModel(Path("configs/devices/" + device + "-fbnet.yaml"));
    const size_t column = reference.Column(device + "_latency_ms");
    double worst = 0;
    for (size_t row = 0; row < reference.rows(); ++row) {
      std::string text;
      int block = 0;
      for (int stage = 0; stage < 7; ++stage) {
        if (stage) text += "|";
        for (int i = 0; i < stage_layers[stage]; ++i, ++block) {
          char name[16];
          std::snprintf(name, sizeof name, "b%02d", block);
          text += (i ? "-" : "") + reference.Cell(row, reference.Column(name));
        }
      }
      const DeviceCost cost = lut->Cost(space->Expand(space->Parse(text)));
      if (!cost.ok) throw Error(text + ": " + cost.error);
      worst = std::max(worst, std::abs(cost.latency_ms - *reference.Number(row, column)));
    }
    std::printf("| %-13s | %13zu | %23.3g | %-5s |\n", (device + "-fbnet").c_str(),
                reference.rows(), worst, worst == 0 ? "yes" : "no");
  }
}

}  // namespace

int main() {
  try {
    // Calibration records name files relative to the tree's top, where calibrate ran.
    std::filesystem::current_path(kHome);
    std::printf("device_models: predictions against measurements never used for fitting\n");
    std::printf("| device             | kind       | measurements (held out)              |   rows | "
                "within10 |   MAPE | spearman | kendall | ceiling | target                   |\n");
    std::printf("|--------------------|------------|--------------------------------------|--------|"
                "----------|--------|----------|---------|---------|--------------------------|\n");
    std::vector<Case> cases = {
        {"h100", "data/h100 nets, graph, held-out nets",
         HeldOutRows("h100", "data/h100/nets.csv", "data/h100/nets.jsonl", "graph"),
         ">=90% within10, tau>=0.9"},
        {"h100", "data/h100 nets, eager, held-out nets",
         HeldOutRows("h100", "data/h100/nets.csv", "data/h100/nets.jsonl", "eager"), "-"},
    };
    for (const std::string device : {"edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"}) {
      cases.push_back({device + "-calibrated", "NB201 cifar10 table, all but the 100",
                       Nb201HeldOut(device, device + "-calibrated"), "tau>=0.9"});
    }
    if (std::filesystem::exists(Path("configs/devices/host-cpu.yaml"))) {
      // Fitted on minimum times: this machine is shared, and medians carry others' load.
      for (const auto& [label, timing] :
           {std::pair{"host-cpu validation nets, min", TimingStatistic::kMin},
            std::pair{"host-cpu validation nets, median", TimingStatistic::kMedian}}) {
        cases.push_back({"host-cpu", label,
                         HeldOutRows("host-cpu", "data/host-cpu/validation_measurements.csv",
                                     "data/host-cpu/validation_nets.jsonl", "graph", timing),
                         ">=90% within10"});
      }
      // The space the default search runs, from another run than the one calibrated on.
      for (const bool as_searched : {false, true}) {
        cases.push_back({"host-cpu",
                         as_searched ? "fmnist as searched, another run, min"
                                     : "fmnist candidates, another run, min",
                         HeldOutRows("host-cpu", "data/host-cpu/fmnist_validation_measurements.csv",
                                     "", "graph", TimingStatistic::kMin,
                                     "configs/spaces/fmnist.yaml", as_searched),
                         "-"});
      }
    }
    for (const auto& c : cases) PrintRow(c);
    PrintLutSums();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
