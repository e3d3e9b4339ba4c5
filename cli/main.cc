// hwnas: hardware-aware architecture and compression search.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/errors.h"
#include "core/paths.h"

namespace {

using hwnas::Command;

std::vector<Command> AllCommands() {
  return {hwnas::SearchCommand(),       hwnas::QueryParetoCommand(),  hwnas::QueryBestCommand(),
          hwnas::QueryRunsCommand(),    hwnas::DevicesCommand(),      hwnas::SpaceShowCommand(),
          hwnas::PredictorFitCommand(), hwnas::PredictorEvalCommand(),
          hwnas::HwPredictCommand(),    hwnas::HwCalibrateCommand(),  hwnas::HwValidateCommand(),
          hwnas::HwMeasureCommand(),    hwnas::HwRandomNetsCommand(), hwnas::FidelityCommand()};
}

void PrintCommands(const std::vector<Command>& commands, std::string_view group = "") {
  for (const auto& c : commands) {
    if (!c.name.starts_with(group)) continue;
    std::string name = "  " + c.name;
    name.resize(18, ' ');
    std::cout << name << c.summary << "\n";
  }
}

void PrintUsage(const std::vector<Command>& commands) {
  std::cout << "hwnas " << hwnas::AppVersion()
            << ": hardware-aware architecture and compression search\n\n"
               "Usage: hwnas COMMAND [FLAGS]     (hwnas COMMAND --help for its flags)\n\n"
               "Commands:\n";
  PrintCommands(commands);
  std::cout << "\nA first search:\n"
               "  hwnas search --config configs/runs/quickstart.yaml --db results.db\n"
               "  hwnas query pareto --db results.db --device edgegpu\n\n"
               "Configs and data are found under $HWNAS_HOME (now "
            << hwnas::HomeDir() << ").\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto commands = AllCommands();
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintUsage(commands);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "hwnas " << hwnas::AppVersion() << "\n";
    return 0;
  }
  for (const auto& c : commands) {
    // A command name has one or two words ("search", "query pareto").
    const size_t words = c.name.find(' ') == std::string::npos ? 1 : 2;
    if (args.size() < words) continue;
    std::string name = args[0];
    if (words == 2) name += " " + args[1];
    if (name != c.name) continue;
    const std::vector<std::string> rest(args.begin() + words, args.end());
    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
      std::cout << "Usage: hwnas " << c.name << " [FLAGS]\n" << c.summary << "\n\nFlags:\n"
                << hwnas::FlagHelp(c.flags);
      return 0;
    }
    try {
      return c.run(hwnas::Args(c.name, c.flags, rest));
    } catch (const hwnas::Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  // A group word alone ("hwnas query"): list its commands.
  const std::string group = args[0] + " ";
  const bool is_group = std::any_of(commands.begin(), commands.end(),
                                    [&](const Command& c) { return c.name.starts_with(group); });
  const bool wants_help = args.size() == 1 || args[1] == "--help" || args[1] == "-h";
  if (is_group && wants_help) {
    std::cout << "Usage: hwnas " << args[0] << " SUBCOMMAND [FLAGS]\n\n";
    PrintCommands(commands, group);
    return args.size() == 1 ? 2 : 0;
  }
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  std::cerr << "error: unknown command '" << args[0] << (args.size() > 1 ? " " + args[1] : "")
            << "'; valid: ";
  for (size_t i = 0; i < names.size(); ++i) std::cerr << (i ? ", " : "") << names[i];
  std::cerr << "\n";
  return 2;
}
