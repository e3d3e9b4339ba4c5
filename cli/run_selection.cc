#include "cli/run_selection.h"

#include "core/errors.h"
#include "search/run_config.h"

namespace hwnas {

RunRecord SelectedRun(const Args& args, const Store& store) {
  if (const auto id = args.Int("run", 1, INT64_MAX)) return store.Run(*id);
  const auto runs = store.Runs();
  if (runs.empty()) throw DatabaseError(store.path() + ": the database holds no runs yet");
  return runs.back();
}

std::unique_ptr<SearchSpace> RunSpace(const RunRecord& run) {
  return LoadSearchSpace(ParseStoredRunConfig(run.config, run.config_path).space_path);
}

}  // namespace hwnas
