// Command-line flags of one subcommand: declared once with their help, checked strictly. An
// unknown flag or a bad value is a ConfigError naming the flag and what it takes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hwnas {

struct FlagSpec {
  std::string name;   // without the leading dashes
  std::string value;  // what the value is called in help ("FILE"); empty for a switch
  std::string help;
};

class Args {
 public:
  Args(const std::string& command, const std::vector<FlagSpec>& specs,
       const std::vector<std::string>& argv);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> String(const std::string& name) const;
  std::string Require(const std::string& name) const;
  std::optional<int64_t> Int(const std::string& name, int64_t lo, int64_t hi) const;
  std::optional<double> Double(const std::string& name) const;
  // One of `valid`, or the fallback when the flag is absent.
  std::string Choice(const std::string& name, const std::vector<std::string>& valid,
                     const std::string& fallback) const;

 private:
  [[noreturn]] void Fail(const std::string& name, const std::string& message) const;

  std::string command_;
  std::map<std::string, std::string> values_;
};

std::string FlagHelp(const std::vector<FlagSpec>& specs);

}  // namespace hwnas
