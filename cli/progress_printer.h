// Shows a run's progress: on a terminal, one line redrawn in place with the rate and ETA; in a
// log (not a terminal), a quiet line every tenth of the budget.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "search/run.h"

namespace hwnas {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::FILE* out);
  void operator()(const RunProgress& progress);
  // A preparation stage before the search (a teacher's training), in steps.
  void Stage(std::string_view stage, int64_t done, int64_t total);

 private:
  std::string Line(const RunProgress& progress) const;
  // Draws a line: redrawn in place on a terminal (at most 10 times a second), else logged when
  // `log_due`; `last` ends it.
  void Draw(const std::string& line, bool last, bool log_due);

  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point last_draw_{};
  int64_t next_log_at_ = 0;
  std::string stage_;
  std::chrono::steady_clock::time_point stage_start_{};
  int64_t next_stage_log_at_ = 0;
};

}  // namespace hwnas
