#include <iostream>

#include "cli/command.h"
#include "cli/table_output.h"
#include "core/config_node.h"
#include "search/search_space.h"

namespace hwnas {

namespace {

int SpaceShow(const Args& args) {
  const std::string format = args.Choice("format", kOutputFormats, "table");
  // A run config names its space; a space file is the space.
  const std::string path = args.Require("config");
  const ConfigNode root = ConfigNode::LoadFile(path);
  const auto space = root.Has("space") ? LoadSearchSpace(root.Path("space")) : MakeSearchSpace(root);
  TableOutput table({{"knob", false}, {"choices", true}, {"values", false}});
  for (const auto& knob : space->knobs()) {
    table.AddRow({knob.name, std::to_string(knob.choices.size()), JoinNames(knob.choices, " ")});
  }
  table.Print(std::cout, format);
  if (format == "table") {
    std::cout << "\nspace " << space->name() << ": " << space->knobs().size() << " knobs, "
              << FormatNumber(space->Size(), 12) << " candidates\n";
  }
  return 0;
}

}  // namespace

Command SpaceShowCommand() {
  return {"space show",
          "the knobs of a search space, their choices, and the space's size",
          {{"config", "FILE", "a space YAML, or a run YAML that names one (required)"},
           kFormatFlag},
          SpaceShow};
}

}  // namespace hwnas
