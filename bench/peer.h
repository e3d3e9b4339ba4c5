// Runs a Python peer benchmark (Optuna, PyTorch from Debian, in /usr/bin/python3) and returns
// what it printed on stdout.
#pragma once

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace hwnas::bench {

inline std::string RunPeer(const std::string& command) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start: " + command);
  std::string out;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  if (pclose(pipe) != 0) {
    throw std::runtime_error("peer failed (are the peers installed? see bench/README.md): " +
                             command);
  }
  return out;
}

// The number after "key": in a flat JSON text, searched from `from`; NaN if absent or null.
inline double JsonNumber(const std::string& json, const std::string& key, size_t from = 0) {
  const size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return std::nan("");
  const size_t start = at + key.size() + 3;
  if (json.compare(json.find_first_not_of(' ', start), 4, "null") == 0) return std::nan("");
  return std::stod(json.substr(start));
}

}  // namespace hwnas::bench
