// `hwnas hw predict | calibrate | validate`: what a device model says a network costs, fitting
// a roofline's efficiencies to measurements, and checking a model against measurements it was
// not fitted on.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/command.h"
#include "cli/network_sources.h"
#include "cli/table_output.h"
#include "core/atomic_file.h"
#include "core/config_node.h"
#include "core/errors.h"
#include "core/paths.h"
#include "core/rng.h"
#include "core/utc_time.h"
#include "hwmodels/calibration.h"
#include "hwmodels/calibration_record.h"
#include "hwmodels/dtype.h"
#include "hwmodels/measured_network.h"
#include "hwmodels/net_file.h"
#include "hwmodels/validation.h"
#include "search/search_space.h"

namespace hwnas {

namespace {

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// The networks measurement rows name: those of --nets, and with --space, rows whose net is a
// candidate string of that space, as `hw measure --candidate` timed it (HostDeployable).
std::map<std::string, NetworkSpec> NetsById(const Args& args,
                                            const std::vector<Measurement>& rows) {
  std::map<std::string, NetworkSpec> nets;
  if (const auto path = args.String("nets")) {
    for (auto& spec : LoadNetsFile(*path)) nets.emplace(spec.key, std::move(spec));
  }
  if (const auto space_path = args.String("space")) {
    const auto space = LoadSearchSpace(*space_path);
    for (const auto& row : rows) {
      // Layer rows timed alone belong to no network.
      if (row.net.empty() || nets.count(row.net)) continue;
      nets.emplace(row.net, DeployedCandidate(*space, *space_path, row.net, row.origin));
    }
  }
  return nets;
}

std::vector<Measurement> LoadAllMeasurements(const Args& args) {
  std::vector<Measurement> rows;
  for (const auto& path : SplitList(args.Require("measurements"))) {
    auto more = LoadMeasurements(path);
    rows.insert(rows.end(), more.begin(), more.end());
  }
  return rows;
}

// The device file a flag names: a device name in configs/devices, or a path to a .yaml.
std::string DeviceFlag(const Args& args, const std::string& flag) {
  const std::string name = args.Require(flag);
  const std::string path = DeviceConfigPath(name);
  if (!std::filesystem::exists(path)) {
    throw ConfigError("--" + flag + ": unknown device '" + name + "'; valid: " +
                      JoinNames(KnownDeviceNames()) + " (or a path to a device .yaml)");
  }
  return path;
}

Dtype ReadDtype(const Args& args) {
  std::vector<std::string> names = DtypeNames();
  names.erase(std::find(names.begin(), names.end(), "mixed"));
  return *ParseDtype(args.Choice("dtype", names, "fp32"));
}

TimingStatistic ReadTiming(const Args& args) {
  return args.Choice("timing", {"median", "min"}, "median") == "min" ? TimingStatistic::kMin
                                                                     : TimingStatistic::kMedian;
}

CostOptions ReadCostOptions(const Args& args) {
  CostOptions options;
  options.batch = static_cast<int>(args.Int("batch", 1, 1 << 20).value_or(1));
  options.float_format = ReadDtype(args).run_format;
  options.mode = args.Choice("mode", {"graph", "eager"}, "graph") == "eager" ? ExecutionMode::kEager
                                                                            : ExecutionMode::kGraph;
  options.breakdown = args.Has("breakdown");
  return options;
}

int RunPredict(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const auto device = LoadDeviceModel(DeviceFlag(args, "device"));
  const CostOptions options = ReadCostOptions(args);
  const bool energy = device->info().provides_energy;
  std::vector<Column> columns = {{"net", false}};
  if (options.breakdown) {
    columns.insert(columns.end(), {{"step", true}, {"layers", false}, {"op", false},
                                   {"precision", false}, {"mmacs", true}, {"kbytes", true},
                                   {"bound", false}});
  }
  columns.push_back({"latency_ms", true});
  if (energy) columns.push_back({"energy_mj", true});
  columns.push_back({"status", false});
  TableOutput table(columns);
  int failures = 0;
  const Dtype dtype = ReadDtype(args);
  for (auto& spec : ReadNetworkSources(args, "hwnas hw predict").nets) {
    ApplyDtype(dtype, spec);
    const DeviceCost cost = device->Cost(spec, options);
    failures += !cost.ok;
    const std::string status = cost.ok ? "ok" : cost.error;
    if (options.breakdown && cost.ok) {
      for (size_t i = 0; i < cost.layers.size(); ++i) {
        const LayerCost& step = cost.layers[i];
        std::string span = std::to_string(step.first_layer);
        if (step.layer_count > 1) {
          span += '-';
          span += std::to_string(step.first_layer + step.layer_count - 1);
        }
        std::vector<std::string> row = {
            spec.key, std::to_string(i), span, step.op, step.precision, FormatNumber(step.macs * 1e-6, 4),
            FormatNumber(step.bytes * 1e-3, 4), step.bound, FormatNumber(step.latency_ms, 5)};
        if (energy) row.push_back(FormatOptional(step.energy_mj, 5));
        row.push_back(status);
        table.AddRow(row);
      }
    }
    std::vector<std::string> row = {spec.key};
    if (options.breakdown) row.insert(row.end(), {"", "all", "", "", "", "", ""});
    row.push_back(cost.ok ? FormatNumber(cost.latency_ms, 5) : "");
    if (energy) row.push_back(cost.ok ? FormatOptional(cost.energy_mj, 5) : "");
    row.push_back(status);
    table.AddRow(row);
  }
  table.Print(std::cout, format);
  return failures == 0 ? 0 : 1;
}

// Every candidate of a space a table device can cost, with its measured latency.
std::vector<MeasuredNetwork> TableTruth(const Args& args, const std::string& command) {
  const auto truth = LoadDeviceModel(DeviceFlag(args, "against"));
  if (truth->info().kind != "table") {
    throw ConfigError("hwnas hw " + command + ": --against " + args.Require("against") +
                      ": expected a device of kind table (measurements), got " +
                      truth->info().kind);
  }
  const auto space = LoadSearchSpace(args.Require("space"));
  std::vector<NetworkSpec> networks;
  for (const auto& candidate : space->AllValid()) networks.push_back(space->Expand(candidate));
  return MeasureWith(*truth, networks, ReadDtype(args));
}

// The date part of UtcNow().
std::string Today() { return UtcNow().substr(0, 10); }

// A single-quoted YAML string (a quote inside is doubled, as YAML wants).
std::string YamlQuoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

std::string YamlList(const std::vector<std::string>& items) {
  std::string text = "[";
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + YamlQuoted(items[i]);
  return text + "]";
}

int RunCalibrate(const Args& args) {
  const std::string base_path = DeviceFlag(args, "device");
  const ConfigNode base = ConfigNode::LoadFile(base_path);
  const std::string kind = base.Choice("kind", DeviceKinds());
  if (kind != "roofline" && kind != "calibrated") {
    base.Child("kind").Fail("calibrate fits a roofline; give a device of kind roofline");
  }
  const DeviceSpec base_spec = ParseDeviceSpec(base);
  const std::string out = args.Require("out");
  Rng rng(static_cast<uint64_t>(args.Int("seed", 0, INT64_MAX).value_or(1)));

  std::vector<MeasuredNetwork> samples;
  std::vector<Measurement> residual_rows;  // the rows of the fitted networks
  std::map<std::string, NetworkSpec> nets;
  std::ostringstream record;
  std::vector<std::string> fitted_nets;
  if (args.Has("against")) {
    if (args.Has("kinds")) {
      throw ConfigError("hwnas hw calibrate: --kinds selects rows of --measurements; a table "
                        "device (--against) holds whole networks only");
    }
    auto truth = TableTruth(args, "calibrate");
    const auto wanted = static_cast<size_t>(args.Int("samples", 1, 1 << 20).value_or(100));
    if (truth.size() < wanted) {
      throw ConfigError("hwnas hw calibrate: --samples " + std::to_string(wanted) + ": only " +
                        std::to_string(truth.size()) + " measured networks");
    }
    for (size_t i = 0; i < wanted; ++i) std::swap(truth[i], truth[i + rng.Below(truth.size() - i)]);
    samples.assign(truth.begin(), truth.begin() + static_cast<long>(wanted));
    for (const auto& s : samples) fitted_nets.push_back(s.net);
    record << "  table_device: " << args.Require("against") << "\n  space: "
           << args.Require("space") << "\n  fitted_candidates: " << YamlList(fitted_nets) << "\n";
  } else {
    const std::vector<Measurement> measured = LoadAllMeasurements(args);
    nets = NetsById(args, measured);
    std::vector<std::string> ids;
    for (const auto& [id, spec] : nets) ids.push_back(id);
    const double holdout = args.Double("holdout-nets").value_or(0.0);
    if (holdout < 0 || holdout >= 1) {
      throw ConfigError("hwnas hw calibrate: --holdout-nets: give a share in [0, 1)");
    }
    for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.Below(i)]);
    const std::set<std::string> held(ids.begin(),
                                     ids.begin() + static_cast<long>(holdout * ids.size()));
    for (const auto& id : ids) {
      if (!held.count(id)) fitted_nets.push_back(id);
    }
    std::sort(fitted_nets.begin(), fitted_nets.end());
    std::set<std::string> kinds(MeasurementKinds().begin(), MeasurementKinds().end());
    if (args.Has("kinds")) {
      kinds.clear();
      for (const auto& kind : SplitList(args.Require("kinds"))) {
        if (std::find(MeasurementKinds().begin(), MeasurementKinds().end(), kind) ==
            MeasurementKinds().end()) {
          throw ConfigError("hwnas hw calibrate: --kinds: unknown kind '" + kind +
                            "'; valid: " + JoinNames(MeasurementKinds()));
        }
        kinds.insert(kind);
      }
    }
    // Rows of held-out networks, layers included, stay unseen.
    // --kinds picks the rows the efficiencies are fitted on. The layer residuals learn from
    // the layer and convert rows of the fitted networks too, since network rows cannot say
    // which layer erred (they put the layers in context); a layer row of no network is used
    // only when its kind is fitted.
    std::vector<Measurement> rows;
    for (const auto& row : measured) {
      if (held.count(row.net)) continue;
      if (kinds.count(row.kind)) rows.push_back(row);
      if (!row.net.empty() || kinds.count(row.kind)) residual_rows.push_back(row);
    }
    if (rows.empty()) throw ConfigError("hwnas hw calibrate: no measurements of those kinds");
    samples = PairMeasurements(rows, nets, ReadTiming(args));
    // Paths in a YAML resolve against its folder, wherever hwnas runs from.
    std::vector<std::string> relative;
    for (const auto& path : SplitList(args.Require("measurements"))) {
      relative.push_back(std::filesystem::relative(
          std::filesystem::absolute(path), std::filesystem::absolute(out).parent_path()));
    }
    record << "  timing: " << args.Choice("timing", {"median", "min"}, "median")
           << "\n  measurements: " << YamlList(relative)
           << "\n  kinds: " << YamlList(std::vector<std::string>(kinds.begin(), kinds.end()))
           << "\n  nets: '" << args.String("nets").value_or("") << "'\n  space: '"
           << args.String("space").value_or("") << "'\n  fitted_nets: "
           << YamlList(fitted_nets) << "\n  held_out_nets: "
           << YamlList(std::vector<std::string>(held.begin(), held.end())) << "\n";
  }
  const int threads = static_cast<int>(args.Int("threads", 0, 1024).value_or(0));
  std::cerr << "calibrating " << base.String("name") << " on " << samples.size()
            << " measurements...\n";
  const CalibrationResult result = Calibrate(base_spec, samples, threads);
  const int neighbours = static_cast<int>(args.Int("neighbours", 0, 64).value_or(3));
  const LayerResiduals residuals =
      neighbours > 0
          ? FitResiduals(result.fitted, residual_rows, nets, ReadTiming(args), neighbours)
          : LayerResiduals();

  std::ostringstream yaml;
  const std::string name = args.String("name").value_or(base.String("name"));
  yaml << "# Written by `hwnas hw calibrate` " << AppVersion() << " on " << Today()
       << ": the roofline of " << base_path
       << "\n# with efficiencies fitted by least squares on relative error to the measurements"
          " under `calibration`.\n"
       << "name: " << name << "\ndescription: "
       << YamlQuoted(base.String("description", name) + ", calibrated on measurements")
       << "\nkind: calibrated\n";
  if (base.Has("sources")) yaml << "sources: " << YamlList(base.StringList("sources")) << "\n";
  yaml << DeviceSpecYaml(result.fitted) << "calibration:\n  base: " << base_path
       << "\n  date: " << Today() << "\n  fitted_rows: " << samples.size()
       << "\n  rms_relative_error: " << FormatNumber(result.rms_relative_error, 4)
       << "\n  iterations: " << result.iterations << "\n"
       << record.str();
  if (!residuals.empty()) yaml << residuals.Yaml();
  // The file must load as a device before it replaces anything.
  const std::string text = yaml.str();
  MakeDeviceModel(ConfigNode::LoadString(text, out), out);
  WriteFileAtomically(out, text);
  std::cerr << "fitted " << result.fitted_keys.size() << " op kinds ("
            << JoinNames(result.fitted_keys) << ") in " << result.iterations
            << " iterations; rms relative error " << FormatNumber(100 * result.rms_relative_error, 3)
            << "% on the fitted rows; " << residuals.size() << " layer residuals; wrote " << out
            << "\n";
  return 0;
}

int RunValidate(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const std::string device_path = DeviceFlag(args, "device");
  const auto device = LoadDeviceModel(device_path);
  const CalibrationRecord fitted = ReadCalibrationRecord(device_path);
  std::vector<MeasuredNetwork> truth;
  size_t excluded = 0;
  if (args.Has("against")) {
    truth = TableTruth(args, "validate");
  } else {
    std::vector<Measurement> measured = LoadAllMeasurements(args);
    const auto nets = NetsById(args, measured);
    std::vector<Measurement> rows;
    for (auto& row : measured) {
      if (fitted.Covers(row)) {
        ++excluded;
      } else {
        rows.push_back(std::move(row));
      }
    }
    truth = PairMeasurements(rows, nets, ReadTiming(args));
  }
  const auto kind = args.String("kind");
  const auto mode = args.String("mode");
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> groups;
  TableOutput per_row({{"measurement", false}, {"kind", false}, {"batch", true}, {"mode", false},
                       {"predicted_ms", true}, {"measured_ms", true}, {"error_pct", true}});
  for (const auto& m : truth) {
    if (fitted.nets.count(m.net)) {
      ++excluded;
      continue;
    }
    const std::string row_mode = m.options.mode == ExecutionMode::kEager ? "eager" : "graph";
    if ((kind && m.kind != *kind) || (mode && row_mode != *mode)) continue;
    const DeviceCost cost = device->Cost(m.spec, m.options);
    if (!cost.ok) throw ConfigError(m.id + ": " + cost.error);
    per_row.AddRow({m.id, m.kind, std::to_string(m.options.batch), row_mode,
                    FormatNumber(cost.latency_ms, 5), FormatNumber(m.measured_ms, 5),
                    FormatNumber(100 * (cost.latency_ms / m.measured_ms - 1), 3)});
    for (const std::string& group : {std::string("all"), m.kind + " " + row_mode}) {
      groups[group].first.push_back(cost.latency_ms);
      groups[group].second.push_back(m.measured_ms);
    }
  }
  if (groups.empty()) throw ConfigError("hwnas hw validate: no measurements left to validate on");
  if (args.Has("per-row")) {
    per_row.Print(std::cout, format);
    return 0;
  }
  TableOutput table({{"rows", false}, {"count", true}, {"within_10pct", true}, {"mape_pct", true},
                     {"spearman", true}, {"kendall", true}});
  for (const auto& [group, series] : groups) {
    const ValidationReport r = Validate(series.first, series.second);
    table.AddRow({group, std::to_string(r.count), FormatNumber(100 * r.within_10_percent, 4),
                  FormatNumber(100 * r.mape, 4), FormatNumber(r.spearman, 4),
                  FormatNumber(r.kendall, 4)});
  }
  table.Print(std::cout, format);
  std::cerr << device->name() << ": left out " << excluded
            << " measurements the device was fitted on\n";
  return 0;
}

}  // namespace

Command HwPredictCommand() {
  return {"hw predict",
          "predict the latency (and energy) of networks on a device, with a per-layer breakdown",
          {{"device", "NAME", "device name in configs/devices, or a device .yaml (required)"},
           {"nets", "FILE", "networks, one JSON object a line (data/h100/nets.jsonl format)"},
           {"space", "FILE", "search space of --candidate"},
           {"candidate", "STR", "one candidate string of --space"},
           {"db", "FILE", "results database: cost every candidate of a run"},
           {"run", "ID", "run id with --db (default: the newest run)"},
           {"batch", "N", "batch size (default 1)"},
           {"dtype", "D", "how layers that name no dtype run: fp32 tf32 fp16 bf16 fp8 int8 int4 ... (default fp32)"},
           {"mode", "M", "graph | eager (default graph)"},
           {"breakdown", "", "one row per layer or fused step as well"},
           kFormatFlag},
          RunPredict};
}

Command HwCalibrateCommand() {
  return {"hw calibrate",
          "fit a roofline device's efficiencies to measurements; write a calibrated device file",
          {{"device", "NAME", "roofline device to start from (required)"},
           {"measurements", "CSV", "measurement files, comma-separated (hw measure, data/h100)"},
           {"nets", "FILE", "networks the measurements' net rows refer to"},
           {"timing", "T", "median | min of each row's repetitions (min on a shared machine; default median)"},
           {"holdout-nets", "P", "share of the nets kept out of the fit, layers included (default 0)"},
           {"kinds", "K,...",
            "fit the efficiencies on rows of these kinds only: conv linear add gap net (default "
            "all); layer residuals learn from the fitted networks' layer and convert rows"},
           {"neighbours", "K",
            "correct each layer and conversion by the residuals of the K nearest measured ones; "
            "0 = none (default 3)"},
           {"against", "DEVICE", "instead of --measurements: a table device's measurements"},
           {"space", "FILE",
            "the space of the candidates measured (--against), or of --measurements net ids, "
            "costed as hw measure deployed them"},
           {"samples", "N", "with --against: candidates to fit on (default 100)"},
           {"dtype", "D", "with --against: how the measured networks ran, e.g. int8 (default fp32)"},
           {"seed", "N", "seed of the held-out or sampled draw (default 1)"},
           {"name", "NAME", "name of the calibrated device (default: the base's)"},
           {"threads", "N", "threads (default: all cores)"},
           {"out", "FILE", "calibrated device .yaml to write (required)"}},
          RunCalibrate};
}

Command HwValidateCommand() {
  return {"hw validate",
          "a device model against measurements it was not fitted on: share within 10%, MAPE, ranks",
          {{"device", "NAME", "device to check (required)"},
           {"measurements", "CSV", "measurement files, comma-separated"},
           {"nets", "FILE", "networks the measurements' net rows refer to"},
           {"timing", "T", "median | min of each row's repetitions (default median)"},
           {"against", "DEVICE", "instead of --measurements: a table device's measurements"},
           {"space", "FILE",
            "the space of the candidates measured (--against), or of --measurements net ids, "
            "costed as hw measure deployed them"},
           {"dtype", "D", "with --against: how the measured networks ran, e.g. int8 (default fp32)"},
           {"kind", "K", "only rows of this kind: net conv linear add gap"},
           {"mode", "M", "only rows of this mode: graph | eager"},
           {"per-row", "", "print each measurement's prediction and error instead of the summary"},
           kFormatFlag},
          RunValidate};
}

}  // namespace hwnas
