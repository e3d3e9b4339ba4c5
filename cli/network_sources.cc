#include "cli/network_sources.h"

#include "cli/run_selection.h"
#include "core/errors.h"
#include "hwmodels/host/host_network.h"
#include "hwmodels/net_file.h"

namespace hwnas {

NetworkSources ReadNetworkSources(const Args& args, const std::string& command) {
  const int given = args.Has("nets") + args.Has("candidate") + args.Has("db");
  if (given != 1) {
    throw ConfigError(command + ": give one of --nets FILE, --space FILE --candidate STR, or " +
                      "--db FILE");
  }
  if (args.Has("space") && !args.Has("candidate")) {
    throw ConfigError(command + ": --space goes with --candidate (a run names its own space)");
  }
  if (args.Has("run") && !args.Has("db")) throw ConfigError(command + ": --run goes with --db");
  NetworkSources sources;
  if (args.Has("nets")) {
    sources.where = args.Require("nets");
    sources.nets = LoadNetsFile(sources.where);
    return sources;
  }
  sources.candidates = true;
  if (args.Has("candidate")) {
    const std::string space_path = args.Require("space");
    const auto space = LoadSearchSpace(space_path);
    sources.where = "--candidate";
    try {
      sources.nets.push_back(space->Expand(space->Parse(args.Require("candidate"))));
    } catch (const ConfigError& e) {
      throw ConfigError("--candidate: not a candidate of " + space_path + ": " + e.what());
    }
    return sources;
  }
  sources.where = args.Require("db");
  const Store store(sources.where, Store::Mode::kMustExist);
  const RunRecord run = SelectedRun(args, store);
  const auto space = RunSpace(run);
  for (const auto& record : store.RunEvaluations(run.id)) {
    sources.nets.push_back(space->Expand(space->Parse(record.canonical)));
  }
  if (sources.nets.empty()) {
    throw ConfigError(sources.where + ": run " + std::to_string(run.id) + " has no evaluations");
  }
  return sources;
}

NetworkSpec DeployedCandidate(const SearchSpace& space, const std::string& space_path,
                              const std::string& candidate, const std::string& where) {
  try {
    return HostDeployable(space.Expand(space.Parse(candidate)));
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": net '" + candidate + "' is in no --nets file and is no " +
                      "candidate of " + space_path + ": " + e.what());
  }
}

}  // namespace hwnas
