// The networks a `hwnas hw` command reads: --nets FILE, --space FILE with --candidate STR, or
// --db FILE with --run ID (every candidate the run evaluated); exactly one of them.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "core/network_spec.h"
#include "search/search_space.h"

namespace hwnas {

struct NetworkSources {
  std::vector<NetworkSpec> nets;
  bool candidates = false;  // from a search space: compressed by their policies, not by dtype
  std::string where;        // the file or flag they came from, for errors
};

// `command` names the caller in the error for none or several sources given.
NetworkSources ReadNetworkSources(const Args& args, const std::string& command);

// A candidate string of `space` as this host runs it (HostDeployable), as `hw measure` times it;
// a string that is no candidate is a ConfigError naming `where` and the space.
NetworkSpec DeployedCandidate(const SearchSpace& space, const std::string& space_path,
                              const std::string& candidate, const std::string& where);

}  // namespace hwnas
