#include "core/config_node.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace hwnas {

namespace {

std::string FormatNumber(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

}  // namespace

std::string JoinNames(const std::vector<std::string>& names, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += separator;
    out += names[i];
  }
  return out;
}

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file,
                       std::string key_path)
    : node_(std::move(node)), file_(std::move(file)), key_path_(std::move(key_path)) {}

ConfigNode ConfigNode::LoadString(const std::string& text, const std::string& origin) {
  auto file = std::make_shared<const std::string>(origin);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) +
                      ": malformed YAML: " + e.msg);
  }
  ConfigNode node(root, file, "");
  if (!root.IsMap()) node.Fail("the file must be a YAML mapping of keys to values");
  return node;
}

ConfigNode ConfigNode::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  return LoadString(text.str(), path);
}

std::string ConfigNode::Where() const {
  const auto mark = node_.Mark();
  if (mark.is_null()) return *file_;
  return *file_ + ":" + std::to_string(mark.line + 1);
}

void ConfigNode::Fail(const std::string& message) const {
  const std::string key = key_path_.empty() ? "" : key_path_ + ": ";
  throw ConfigError(Where() + ": " + key + message);
}

void ConfigNode::ExpectUniqueKeys() const {
  // yaml-cpp keeps both entries of a repeated key; a silent pick of one would hide a typo.
  if (!node_.IsMap()) Fail("expected a mapping of keys to values");
  std::vector<std::pair<std::string, YAML::Node>> seen;
  for (const auto& item : node_) {
    const std::string name = item.first.Scalar();
    for (const auto& [earlier, node] : seen) {
      if (earlier == name) {
        ConfigNode(item.first, file_, key_path_)
            .Fail("duplicate key '" + name + "' (first given on line " +
                  std::to_string(node.Mark().line + 1) + ")");
      }
    }
    seen.emplace_back(name, item.first);
  }
}

std::optional<ConfigNode> ConfigNode::Find(std::string_view key) const {
  ExpectUniqueKeys();
  for (const auto& item : node_) {
    if (item.first.Scalar() == key) {
      std::string path = key_path_.empty() ? std::string(key) : key_path_ + "." + std::string(key);
      return ConfigNode(item.second, file_, path);
    }
  }
  return std::nullopt;
}

void ConfigNode::ExpectKeys(std::initializer_list<std::string_view> keys) const {
  ExpectUniqueKeys();
  std::vector<std::string> valid(keys.begin(), keys.end());
  for (const auto& item : node_) {
    const std::string name = item.first.Scalar();
    bool known = false;
    for (auto k : keys) known = known || k == name;
    if (!known) {
      ConfigNode at(item.first, file_, key_path_);
      at.Fail("unknown key '" + name + "'; valid keys: " + JoinNames(valid));
    }
  }
}

bool ConfigNode::Has(std::string_view key) const { return Find(key).has_value(); }

ConfigNode ConfigNode::Child(std::string_view key) const {
  auto child = Find(key);
  if (!child) Fail("missing key '" + std::string(key) + "'");
  return *child;
}

std::vector<std::string> ConfigNode::Keys() const {
  ExpectUniqueKeys();
  std::vector<std::string> keys;
  for (const auto& item : node_) keys.push_back(item.first.Scalar());
  return keys;
}

std::vector<ConfigNode> ConfigNode::Items() const {
  if (!node_.IsSequence()) Fail("expected a list");
  std::vector<ConfigNode> items;
  for (size_t i = 0; i < node_.size(); ++i) {
    items.push_back(ConfigNode(node_[i], file_, key_path_ + "[" + std::to_string(i) + "]"));
  }
  return items;
}

std::string ConfigNode::Scalar() const {
  if (!node_.IsScalar()) Fail("expected a single value");
  return node_.Scalar();
}

std::string ConfigNode::AsString() const { return Scalar(); }

std::string ConfigNode::String(std::string_view key) const { return Child(key).Scalar(); }

std::string ConfigNode::String(std::string_view key, const std::string& fallback) const {
  auto child = Find(key);
  return child ? child->Scalar() : fallback;
}

int64_t ConfigNode::AsInt(int64_t lo, int64_t hi) const {
  const std::string text = Scalar();
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    Fail("expected an integer, got '" + text + "'");
  }
  if (value < lo || value > hi) {
    Fail("value " + text + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
         "]");
  }
  return value;
}

double ConfigNode::AsDouble(double lo, double hi) const {
  const std::string text = Scalar();
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    Fail("expected a number, got '" + text + "'");
  }
  if (value < lo || value > hi) {
    Fail("value " + text + " out of range [" + FormatNumber(lo) + ", " + FormatNumber(hi) + "]");
  }
  return value;
}

int64_t ConfigNode::Int(std::string_view key, int64_t lo, int64_t hi) const {
  return Child(key).AsInt(lo, hi);
}

int64_t ConfigNode::Int(std::string_view key, int64_t lo, int64_t hi, int64_t fallback) const {
  return Has(key) ? Int(key, lo, hi) : fallback;
}

double ConfigNode::Double(std::string_view key, double lo, double hi) const {
  return Child(key).AsDouble(lo, hi);
}

double ConfigNode::Double(std::string_view key, double lo, double hi, double fallback) const {
  return Has(key) ? Double(key, lo, hi) : fallback;
}

bool ConfigNode::Bool(std::string_view key, bool fallback) const {
  auto child = Find(key);
  if (!child) return fallback;
  const std::string text = child->Scalar();
  if (text == "true") return true;
  if (text == "false") return false;
  child->Fail("expected true or false, got '" + text + "'");
}

std::string ConfigNode::Choice(std::string_view key, const std::vector<std::string>& valid) const {
  const ConfigNode child = Child(key);
  const std::string value = child.Scalar();
  for (const auto& v : valid) {
    if (v == value) return value;
  }
  child.Fail("unknown value '" + value + "'; valid: " + JoinNames(valid));
}

std::string ConfigNode::Choice(std::string_view key, const std::vector<std::string>& valid,
                               const std::string& fallback) const {
  return Has(key) ? Choice(key, valid) : fallback;
}

std::vector<std::string> ConfigNode::StringList(std::string_view key) const {
  std::vector<std::string> values;
  for (const auto& item : Child(key).Items()) values.push_back(item.Scalar());
  return values;
}

std::string ConfigNode::Path(std::string_view key) const {
  const std::filesystem::path value = String(key);
  if (value.is_absolute()) return value.string();
  const auto dir = std::filesystem::path(*file_).parent_path();
  return (dir / value).lexically_normal().string();
}

}  // namespace hwnas
