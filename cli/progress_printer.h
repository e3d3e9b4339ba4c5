// Shows a run's progress: on a terminal, one line redrawn in place with the rate and ETA; in a
// log (not a terminal), a quiet line every tenth of the budget.
#pragma once

#include <chrono>
#include <cstdio>

#include "search/run.h"

namespace hwnas {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::FILE* out);
  void operator()(const RunProgress& progress);

 private:
  std::string Line(const RunProgress& progress) const;

  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point last_draw_{};
  int64_t next_log_at_ = 0;
};

}  // namespace hwnas
