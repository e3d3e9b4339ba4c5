// A name -> factory table serving a YAML `kind:` key. An unknown kind is a ConfigError that
// lists the valid ones, at the config's file and line.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config_node.h"

namespace hwnas {

template <typename Product, typename... Args>
class KindRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Product>(const ConfigNode&, Args...)>;

  KindRegistry(std::initializer_list<std::pair<std::string, Factory>> entries)
      : entries_(entries) {}

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : entries_) names.push_back(entry.first);
    return names;
  }

  std::unique_ptr<Product> Make(const ConfigNode& config, Args... args) const {
    const std::string kind = config.Choice("kind", Names());
    for (const auto& [name, factory] : entries_) {
      if (name == kind) return factory(config, std::forward<Args>(args)...);
    }
    return nullptr;  // unreachable: Choice() validated the kind
  }

 private:
  std::vector<std::pair<std::string, Factory>> entries_;
};

}  // namespace hwnas
