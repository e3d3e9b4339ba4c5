#include "cli/progress_printer.h"

#include <unistd.h>

#include <cmath>
#include <string>

namespace hwnas {

namespace {

std::string Duration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  const long s = std::lround(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return text;
}

}  // namespace

ProgressPrinter::ProgressPrinter(std::FILE* out) : out_(out), terminal_(isatty(fileno(out))) {}

std::string ProgressPrinter::Line(const RunProgress& p) const {
  const double rate = p.elapsed_seconds > 0 ? p.done / p.elapsed_seconds : 0;
  const double eta = rate > 0 ? (p.total - p.done) / rate : NAN;
  char head[160];
  std::snprintf(head, sizeof head, "[%lld/%lld] %3.0f%%  %.3g eval/s  ETA %s  best acc %.2f",
                static_cast<long long>(p.done), static_cast<long long>(p.total),
                p.total ? 100.0 * p.done / p.total : 100.0, rate, Duration(eta).c_str(),
                p.best_accuracy);
  std::string line = head;
  if (p.failures) line += "  fails " + std::to_string(p.failures);
  if (p.sampler_seconds > 0.05 * p.elapsed_seconds) {
    // Worth showing only when the sampler is a visible part of the time (guided).
    char sampler[64];
    std::snprintf(sampler, sizeof sampler, "  sampler %.1f ms/eval",
                  1e3 * p.sampler_seconds / std::max<int64_t>(p.done, 1));
    line += sampler;
  }
  line += "  front sizes:";
  for (const auto& [device, size] : p.front_sizes) line += " " + device + "=" + std::to_string(size);
  return line;
}

void ProgressPrinter::Draw(const std::string& line, bool last, bool log_due) {
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r\033[K%s%s", line.c_str(), last ? "\n" : "");
  } else if (last || log_due) {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressPrinter::Note(std::string_view line) {
  // On a terminal the progress line is cleared first; the next report redraws it below.
  std::fprintf(out_, "%s%.*s\n", terminal_ ? "\r\033[K" : "", static_cast<int>(line.size()),
               line.data());
  last_draw_ = {};
  std::fflush(out_);
}

void ProgressPrinter::operator()(const RunProgress& p) {
  const bool log_due = p.done >= next_log_at_;
  if (!terminal_ && log_due) next_log_at_ = p.done + std::max<int64_t>(1, p.total / 10);
  Draw(Line(p), p.finished, log_due);
}

void ProgressPrinter::Stage(std::string_view stage, int64_t done, int64_t total) {
  const auto now = std::chrono::steady_clock::now();
  if (stage != stage_) {
    stage_ = stage;
    stage_start_ = now;
    stage_first_done_ = done;  // a resumed stage's earlier work took no time of this one
    next_stage_log_at_ = 0;
  }
  const double elapsed = std::chrono::duration<double>(now - stage_start_).count();
  const double rate = elapsed > 0 ? (done - stage_first_done_) / elapsed : 0;
  const double eta = rate > 0 ? (total - done) / rate : NAN;
  char line[160];
  std::snprintf(line, sizeof line, "%s [%lld/%lld] %3.0f%%  %.3g/s  ETA %s", stage_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total),
                total ? 100.0 * done / total : 100.0, rate, Duration(eta).c_str());
  const bool log_due = done >= next_stage_log_at_;
  if (!terminal_ && log_due) next_stage_log_at_ = done + std::max<int64_t>(1, total / 10);
  Draw(line, done >= total, log_due);
}

}  // namespace hwnas
