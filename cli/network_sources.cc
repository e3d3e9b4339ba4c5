#include "cli/network_sources.h"

#include "cli/run_selection.h"
#include "core/errors.h"
#include "hwmodels/net_file.h"
#include "search/search_space.h"

namespace hwnas {

NetworkSources ReadNetworkSources(const Args& args, const std::string& command) {
  NetworkSources sources;
  if (args.Has("nets")) {
    sources.nets = LoadNetsFile(args.Require("nets"));
    return sources;
  }
  sources.candidates = true;
  if (args.Has("candidate")) {
    const auto space = LoadSearchSpace(args.Require("space"));
    sources.nets.push_back(space->Expand(space->Parse(args.Require("candidate"))));
    return sources;
  }
  if (args.Has("db")) {
    const Store store(args.Require("db"), Store::Mode::kMustExist);
    const RunRecord run = SelectedRun(args, store);
    const auto space = RunSpace(run);
    for (const auto& record : store.RunEvaluations(run.id)) {
      sources.nets.push_back(space->Expand(space->Parse(record.canonical)));
    }
    return sources;
  }
  throw ConfigError(command + ": give --nets FILE, --space FILE --candidate STR, or --db FILE");
}

}  // namespace hwnas
