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
  // A stage outside the search loop (a teacher's training steps, the front's final training):
  // done of total units, the rate and ETA from this stage's first report, so a stage reports
  // done = 0 (or what a resumed stage had done) when it starts.
  void Stage(std::string_view stage, int64_t done, int64_t total);
  // A result worth keeping in the log as it comes (a long job's partial answers): its own line,
  // above the progress line on a terminal.
  void Note(std::string_view line);

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
  int64_t stage_first_done_ = 0;
  int64_t next_stage_log_at_ = 0;
};

}  // namespace hwnas
