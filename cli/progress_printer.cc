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
  std::snprintf(head, sizeof head, "[%lld/%lld] %3.0f%%  %.0f eval/s  ETA %s  best acc %.2f",
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

void ProgressPrinter::operator()(const RunProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (terminal_) {
    // Redraw at most 10 times a second, and always at the end.
    if (!p.finished && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(out_, "\r\033[K%s%s", Line(p).c_str(), p.finished ? "\n" : "");
  } else if (p.finished || p.done >= next_log_at_) {
    next_log_at_ = p.done + std::max<int64_t>(1, p.total / 10);
    std::fprintf(out_, "%s\n", Line(p).c_str());
  }
  std::fflush(out_);
}

}  // namespace hwnas
