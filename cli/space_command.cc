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
    // A policy knob has hundreds of choices: the first few stand for them in a table.
    constexpr size_t kShown = 12;
    const bool cut = format == "table" && knob.choices.size() > kShown;
    const std::vector<std::string> shown(knob.choices.begin(),
                                         knob.choices.begin() + (cut ? kShown : knob.choices.size()));
    table.AddRow({knob.name, std::to_string(knob.choices.size()),
                  JoinNames(shown, " ") + (cut ? " ..." : "")});
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
