// The current time in UTC as ISO 8601 text ("2026-11-26T05:13:00Z"), for records that say
// when something was made: runs, measurements, calibrations.
#pragma once

#include <string>

namespace hwnas {

std::string UtcNow();

}  // namespace hwnas
