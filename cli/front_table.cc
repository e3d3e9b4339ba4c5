#include "cli/front_table.h"

#include <algorithm>

namespace hwnas {

TableOutput FrontTable(const std::vector<FrontRow>& rows) {
  // A run whose members were trained again at the end has two accuracies: the search's proxy
  // and the final test accuracy. Both are shown, named so that neither passes for the other.
  const bool final = std::any_of(rows.begin(), rows.end(), [](const FrontRow& r) {
    return r.test_accuracy || r.measured_latency_ms;
  });
  std::vector<Column> columns = {{"run", true}, {"device", false}, {"candidate", false}};
  columns.push_back({final ? "proxy_accuracy" : "accuracy", true});
  if (final) columns.insert(columns.end(), {{"test_accuracy", true}, {"final_steps", true}});
  columns.insert(columns.end(), {{"latency_ms", true}, {"energy_mj", true}, {"source", false}});
  if (final) columns.push_back({"measured_ms", true});
  TableOutput table(columns);
  for (const auto& r : rows) {
    std::vector<std::string> cells = {std::to_string(r.run_id), r.device, r.canonical,
                                      FormatNumber(r.accuracy)};
    if (final) {
      cells.push_back(FormatOptional(r.test_accuracy));
      cells.push_back(r.final_steps ? std::to_string(*r.final_steps) : "");
    }
    cells.insert(cells.end(), {FormatNumber(r.latency_ms), FormatOptional(r.energy_mj), r.source});
    if (final) cells.push_back(FormatOptional(r.measured_latency_ms));
    table.AddRow(cells);
  }
  return table;
}

}  // namespace hwnas
