// Strict YAML reading. Every accessor checks type and range, and every failure is one line that
// names the file, the line, the key path and, where there are any, the valid choices:
//   configs/runs/x.yaml:7: sampler.kind: unknown value 'nsga3'; valid: random, nsga2, evolution
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace hwnas {

class ConfigNode {
 public:
  // Throws IoError for a missing or unreadable file, ConfigError for malformed YAML.
  static ConfigNode LoadFile(const std::string& path);
  static ConfigNode LoadString(const std::string& text, const std::string& origin);

  // A mapping must hold only these keys; anything else is an error listing them.
  void ExpectKeys(std::initializer_list<std::string_view> keys) const;
  bool Has(std::string_view key) const;

  ConfigNode Child(std::string_view key) const;  // required
  std::vector<std::string> Keys() const;          // of a mapping, in file order
  std::vector<ConfigNode> Items() const;          // elements of a sequence

  std::string String(std::string_view key) const;
  std::string String(std::string_view key, const std::string& fallback) const;
  int64_t Int(std::string_view key, int64_t lo, int64_t hi) const;
  int64_t Int(std::string_view key, int64_t lo, int64_t hi, int64_t fallback) const;
  double Double(std::string_view key, double lo, double hi) const;
  double Double(std::string_view key, double lo, double hi, double fallback) const;
  bool Bool(std::string_view key, bool fallback) const;
  std::string Choice(std::string_view key, const std::vector<std::string>& valid) const;
  std::string Choice(std::string_view key, const std::vector<std::string>& valid,
                     const std::string& fallback) const;
  std::vector<std::string> StringList(std::string_view key) const;
  // A path relative to the directory of the file this node came from.
  std::string Path(std::string_view key) const;

  // This node as a scalar (for sequence items).
  std::string AsString() const;
  int64_t AsInt(int64_t lo, int64_t hi) const;
  double AsDouble(double lo, double hi) const;

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  const YAML::Node& yaml() const { return node_; }
  const std::string& file() const { return *file_; }
  const std::string& key_path() const { return key_path_; }
  std::string Where() const;  // "file:line"

  [[noreturn]] void Fail(const std::string& message) const;

 private:
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string key_path);
  void ExpectUniqueKeys() const;
  std::optional<ConfigNode> Find(std::string_view key) const;
  std::string Scalar() const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string key_path_;
};

std::string JoinNames(const std::vector<std::string>& names, std::string_view separator = ", ");

}  // namespace hwnas
