// The run a command reads: --run ID, or the newest run in the database, and the search space
// it searched.
#pragma once

#include <memory>

#include "cli/args.h"
#include "search/search_space.h"
#include "store/store.h"

namespace hwnas {

// Throws DatabaseError when the database holds no runs yet.
RunRecord SelectedRun(const Args& args, const Store& store);
std::unique_ptr<SearchSpace> RunSpace(const RunRecord& run);

}  // namespace hwnas
