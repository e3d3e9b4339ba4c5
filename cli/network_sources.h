// The networks a `hwnas hw` command reads: --nets FILE, --space FILE with --candidate STR, or
// --db FILE with --run ID (every candidate the run evaluated).
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "core/network_spec.h"

namespace hwnas {

struct NetworkSources {
  std::vector<NetworkSpec> nets;
  bool candidates = false;  // from a search space: compressed by their policies, not by dtype
};

// `command` names the caller in the error for no source given.
NetworkSources ReadNetworkSources(const Args& args, const std::string& command);

}  // namespace hwnas
