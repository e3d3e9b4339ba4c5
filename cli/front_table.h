// Front rows as printed by `hwnas search` and `hwnas query`.
#pragma once

#include <vector>

#include "cli/table_output.h"
#include "store/store.h"

namespace hwnas {

TableOutput FrontTable(const std::vector<FrontRow>& rows);

}  // namespace hwnas
