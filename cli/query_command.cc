#include <iostream>

#include "cli/command.h"
#include "cli/run_selection.h"
#include "cli/front_table.h"
#include "core/config_node.h"
#include "core/errors.h"
#include "store/store.h"

namespace hwnas {

namespace {

const FlagSpec kDbFlag = {"db", "FILE", "results database (required)"};
const FlagSpec kRunFlag = {"run", "ID", "run id (default: the newest run)"};

void CheckDevice(const Store& store, int64_t run_id, const std::string& device) {
  const auto devices = store.RunDevices(run_id);
  if (std::find(devices.begin(), devices.end(), device) == devices.end()) {
    throw ConfigError("run " + std::to_string(run_id) + " has no device '" + device +
                      "'; its devices: " + JoinNames(devices));
  }
}

int Pareto(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const Store store(args.Require("db"), Store::Mode::kMustExist);
  const int64_t run_id = SelectedRun(args, store).id;
  const std::string device = args.String("device").value_or("");
  if (!device.empty()) CheckDevice(store, run_id, device);
  FrontTable(store.Front(run_id, device)).Print(std::cout, format);
  return 0;
}

int Best(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const Store store(args.Require("db"), Store::Mode::kMustExist);
  BestQuery query;
  query.device = args.Require("device");
  query.run_id = args.Int("run", 1, INT64_MAX);
  query.max_latency_ms = args.Double("max-latency-ms");
  query.min_accuracy = args.Double("min-accuracy");
  if (query.run_id) CheckDevice(store, store.Run(*query.run_id).id, query.device);
  const auto best = store.Best(query);
  if (!best) {
    std::cerr << "no evaluated candidate on " << query.device << " meets the limits\n";
    return 1;
  }
  FrontTable({*best}).Print(std::cout, format);
  return 0;
}

int Runs(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  const Store store(args.Require("db"), Store::Mode::kMustExist);
  TableOutput table({{"run", true},
                     {"status", false},
                     {"space", false},
                     {"sampler", false},
                     {"seed", true},
                     {"evaluations", true},
                     {"failures", true},
                     {"devices", false},
                     {"started_at", false},
                     {"ended_at", false},
                     {"version", false}});
  for (const auto& r : store.Runs()) {
    table.AddRow({std::to_string(r.id), r.status, r.space, r.sampler, std::to_string(r.seed),
                  std::to_string(r.evaluations), std::to_string(r.failures), r.devices,
                  r.started_at, r.ended_at, r.app_version});
  }
  table.Print(std::cout, format);
  return 0;
}

}  // namespace

Command QueryParetoCommand() {
  return {"query pareto",
          "the Pareto front of a run: accuracy against each device's latency",
          {kDbFlag, kRunFlag, {"device", "NAME", "one device (default: every device)"}, kFormatFlag},
          Pareto};
}

Command QueryBestCommand() {
  return {"query best",
          "the best candidate on a device: most accurate under --max-latency-ms, else the "
          "fastest with --min-accuracy",
          {kDbFlag,
           {"device", "NAME", "device (required)"},
           {"max-latency-ms", "X", "latency limit"},
           {"min-accuracy", "A", "accuracy floor, percent"},
           {"run", "ID", "run id (default: every run in the database)"},
           kFormatFlag},
          Best};
}

Command QueryRunsCommand() {
  return {"query runs", "the runs stored in a database", {kDbFlag, kFormatFlag}, Runs};
}

}  // namespace hwnas
