// A subcommand of `hwnas`: its name ("query pareto"), one-line summary, flags, and body.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/args.h"

namespace hwnas {

// --format, which every command that prints rows takes.
inline const FlagSpec kFormatFlag = {"format", "FMT", "table | csv | json (default table)"};

struct Command {
  std::string name;
  std::string summary;
  std::vector<FlagSpec> flags;
  std::function<int(const Args&)> run;
};

Command SearchCommand();
Command QueryParetoCommand();
Command QueryBestCommand();
Command QueryRunsCommand();
Command DevicesCommand();
Command SpaceShowCommand();
Command PredictorFitCommand();
Command PredictorEvalCommand();
Command HwPredictCommand();
Command HwCalibrateCommand();
Command HwValidateCommand();
Command HwMeasureCommand();
Command HwRandomNetsCommand();
Command FidelityCommand();

}  // namespace hwnas
