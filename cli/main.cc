// hwnas: hardware-aware architecture and compression search.
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
          hwnas::PredictorFitCommand(), hwnas::PredictorEvalCommand()};
}

void PrintUsage(const std::vector<Command>& commands) {
  std::cout << "hwnas " << hwnas::AppVersion()
            << ": hardware-aware architecture and compression search\n\n"
               "Usage: hwnas COMMAND [FLAGS]     (hwnas COMMAND --help for its flags)\n\n"
               "Commands:\n";
  for (const auto& c : commands) {
    std::string name = "  " + c.name;
    name.resize(18, ' ');
    std::cout << name << c.summary << "\n";
  }
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
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  std::cerr << "error: unknown command '" << args[0] << (args.size() > 1 ? " " + args[1] : "")
            << "'; valid: ";
  for (size_t i = 0; i < names.size(); ++i) std::cerr << (i ? ", " : "") << names[i];
  std::cerr << "\n";
  return 2;
}
