#include "search/run_config.h"

#include <algorithm>
#include <filesystem>

#include "core/errors.h"
#include "core/paths.h"

namespace hwnas {

namespace {

RunConfig Parse(const ConfigNode& root, const std::string& text) {
  root.ExpectKeys({"space", "evaluator", "devices", "objectives", "constraints", "sampler",
                   "budget", "batch", "seed", "threads"});
  RunConfig config;
  config.origin = root.file();
  config.text = text;
  config.space_path = root.Path("space");
  if (!root.Child("evaluator").IsMap()) root.Child("evaluator").Fail("expected a mapping with a kind");

  const ConfigNode devices = root.Child("devices");
  std::vector<std::string> device_names;
  for (const auto& item : devices.Items()) {
    const std::string name = item.AsString();
    const bool is_path = std::filesystem::path(name).extension() == ".yaml";
    const std::string path =
        is_path ? (std::filesystem::path(root.file()).parent_path() / name).lexically_normal().string()
                : DeviceConfigPath(name);
    if (!std::filesystem::exists(path)) {
      item.Fail("unknown device '" + name + "'; valid: " + JoinNames(KnownDeviceNames()) +
                " (or a path to a device .yaml)");
    }
    if (std::find(device_names.begin(), device_names.end(), name) != device_names.end()) {
      item.Fail("device '" + name + "' listed twice");
    }
    device_names.push_back(name);
    config.device_paths.push_back(path);
  }
  if (config.device_paths.empty()) devices.Fail("a run needs at least one device");

  if (root.Has("objectives")) {
    std::vector<std::string> objectives;
    for (const auto& item : root.Child("objectives").Items()) {
      const std::string name = item.AsString();
      if (name != "accuracy" && name != "latency" && name != "energy") {
        item.Fail("unknown objective '" + name + "'; valid: accuracy, latency, energy");
      }
      objectives.push_back(name);
    }
    const auto has = [&](const char* name) {
      return std::find(objectives.begin(), objectives.end(), name) != objectives.end();
    };
    if (!has("accuracy") || !has("latency")) {
      root.Child("objectives").Fail("must include accuracy and latency (energy is optional)");
    }
    config.energy_objective = has("energy");
  }

  if (root.Has("constraints")) {
    for (const auto& item : root.Child("constraints").Items()) {
      item.ExpectKeys({"device", "max_latency_ms", "max_energy_mj"});
      Constraint c;
      c.device = item.String("device");
      if (std::find(device_names.begin(), device_names.end(), c.device) == device_names.end()) {
        item.Child("device").Fail("constraint on device '" + c.device +
                                  "', which the run does not use; run devices: " +
                                  JoinNames(device_names));
      }
      if (item.Has("max_latency_ms")) c.max_latency_ms = item.Double("max_latency_ms", 1e-9, 1e12);
      if (item.Has("max_energy_mj")) c.max_energy_mj = item.Double("max_energy_mj", 1e-9, 1e12);
      if (!c.max_latency_ms && !c.max_energy_mj) item.Fail("give max_latency_ms or max_energy_mj");
      config.constraints.push_back(c);
    }
  }

  config.sampler = ReadSamplerOptions(root.Child("sampler"));
  const ConfigNode budget = root.Child("budget");
  budget.ExpectKeys({"evaluations", "seconds"});
  config.budget_evaluations = budget.Int("evaluations", 1, int64_t{1} << 40);
  config.budget_seconds = budget.Double("seconds", 0, 1e9, 0);
  config.batch = static_cast<int>(root.Int("batch", 1, 1000000, config.sampler.population));
  config.seed = static_cast<uint64_t>(root.Int("seed", 0, INT64_MAX, 0));
  config.threads = static_cast<int>(root.Int("threads", 0, 4096, 0));
  return config;
}

}  // namespace

ConfigNode RunConfig::Evaluator() const {
  return ConfigNode::LoadString(text, origin).Child("evaluator");
}

RunConfig LoadRunConfig(const std::string& path, const RunOverrides& overrides) {
  const ConfigNode root = ConfigNode::LoadFile(path);
  Parse(root, "");  // validates with the file's own line numbers before any override
  YAML::Node edited = YAML::Clone(root.yaml());
  if (overrides.seed) edited["seed"] = *overrides.seed;
  if (overrides.threads) edited["threads"] = *overrides.threads;
  if (overrides.budget_evaluations) edited["budget"]["evaluations"] = *overrides.budget_evaluations;
  if (overrides.sampler) edited["sampler"]["kind"] = *overrides.sampler;
  if (overrides.devices) {
    edited["devices"] = *overrides.devices;
    // Constraints on devices the flag dropped no longer apply.
    if (edited["constraints"]) {
      YAML::Node kept(YAML::NodeType::Sequence);
      for (const auto& c : edited["constraints"]) {
        const auto device = c["device"].as<std::string>("");
        if (std::find(overrides.devices->begin(), overrides.devices->end(), device) !=
            overrides.devices->end()) {
          kept.push_back(c);
        }
      }
      edited["constraints"] = kept;
    }
  }
  const std::string text = YAML::Dump(edited);
  return Parse(ConfigNode::LoadString(text, path), text);
}

RunConfig ParseStoredRunConfig(const std::string& text, const std::string& origin) {
  return Parse(ConfigNode::LoadString(text, origin), text);
}

}  // namespace hwnas
