#include "cli/front_table.h"

namespace hwnas {

TableOutput FrontTable(const std::vector<FrontRow>& rows) {
  TableOutput table({{"run", true},
                     {"device", false},
                     {"candidate", false},
                     {"accuracy", true},
                     {"latency_ms", true},
                     {"energy_mj", true},
                     {"source", false}});
  for (const auto& r : rows) {
    table.AddRow({std::to_string(r.run_id), r.device, r.canonical, FormatNumber(r.accuracy),
                  FormatNumber(r.latency_ms), FormatOptional(r.energy_mj), r.source});
  }
  return table;
}

}  // namespace hwnas
