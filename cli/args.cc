#include "cli/args.h"

#include <charconv>
#include <cmath>

#include "core/config_node.h"
#include "core/errors.h"

namespace hwnas {

Args::Args(const std::string& command, const std::vector<FlagSpec>& specs,
           const std::vector<std::string>& argv)
    : command_(command) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    std::string name = arg.rfind("--", 0) == 0 ? arg.substr(2) : "";
    std::optional<std::string> inline_value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (!spec) {
      std::vector<std::string> valid;
      for (const auto& s : specs) valid.push_back("--" + s.name);
      throw ConfigError("hwnas " + command_ + ": unknown argument '" + arg + "'; valid: " +
                        JoinNames(valid));
    }
    if (spec->value.empty()) {
      if (inline_value) Fail(name, "takes no value");
      values_[name] = "";
    } else if (inline_value) {
      values_[name] = *inline_value;
    } else {
      if (i + 1 >= argv.size()) Fail(name, "needs a value (" + spec->value + ")");
      values_[name] = argv[++i];
    }
  }
}

void Args::Fail(const std::string& name, const std::string& message) const {
  throw ConfigError("hwnas " + command_ + ": --" + name + ": " + message);
}

std::optional<std::string> Args::String(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::Require(const std::string& name) const {
  const auto value = String(name);
  if (!value) throw ConfigError("hwnas " + command_ + ": --" + name + " is required");
  return *value;
}

std::optional<int64_t> Args::Int(const std::string& name, int64_t lo, int64_t hi) const {
  const auto text = String(name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    Fail(name, "expected an integer, got '" + *text + "'");
  }
  if (value < lo || value > hi) {
    Fail(name, "value " + *text + " out of range [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
  }
  return value;
}

std::optional<double> Args::Double(const std::string& name) const {
  const auto text = String(name);
  if (!text) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || !std::isfinite(value)) {
    Fail(name, "expected a number, got '" + *text + "'");
  }
  return value;
}

std::string Args::Choice(const std::string& name, const std::vector<std::string>& valid,
                         const std::string& fallback) const {
  const auto value = String(name);
  if (!value) return fallback;
  for (const auto& v : valid) {
    if (v == *value) return v;
  }
  Fail(name, "unknown value '" + *value + "'; valid: " + JoinNames(valid));
}

std::string FlagHelp(const std::vector<FlagSpec>& specs) {
  std::string text;
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.value.empty() ? "" : " " + s.value);
    if (left.size() < 26) left.resize(26, ' ');
    else left += "  ";
    text += left + s.help + "\n";
  }
  return text;
}

}  // namespace hwnas
