// The shared progress line (tessel/progress.hpp).
#include "tessel/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace tessel {
namespace {

std::string clock_text(double seconds) {
  const long s = long(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

constexpr int kBarWidth = 24;
constexpr size_t kLineWidth = 100;  // longer lines are cut, so one '\r' always rewinds the whole line

}  // namespace

bool Progress::stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

Progress::Progress(std::string label, size_t total, std::string unit)
    : Progress(std::move(label), total, std::move(unit), stderr_is_terminal()) {}

Progress::Progress(std::string label, size_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (drawn_ && !finished_) finish();
}

std::string Progress::format(std::string_view label, size_t done, size_t total, std::string_view unit,
                             double seconds, std::string_view detail) {
  const size_t shown = std::min(done, total);
  const int filled = total ? int(kBarWidth * shown / total) : kBarWidth;
  std::string line(label);
  line += " [" + std::string(size_t(filled), '=') + std::string(size_t(kBarWidth - filled), ' ') + "] ";
  line += std::to_string(done) + "/" + std::to_string(total);
  if (!unit.empty()) line += " " + std::string(unit);
  if (seconds > 0 && done > 0) {
    const double rate = double(done) / seconds;
    char buf[48];
    std::snprintf(buf, sizeof buf, rate >= 10 ? "  %.0f/s" : "  %.2f/s", rate);
    line += buf;
    if (done < total) line += "  ETA " + clock_text(double(total - done) / rate);
    else line += "  " + clock_text(seconds);
  }
  if (!detail.empty()) line += "  " + std::string(detail);
  if (line.size() > kLineWidth) line.resize(kLineWidth);
  return line;
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const std::string line = format(label_, done_, total_, unit_, seconds, detail_);
  std::fprintf(stderr, "\r%-*s", int(kLineWidth), line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::update(size_t done, std::string_view detail) {
  done_ = done;
  detail_ = detail;
  finished_ = false;
  draw(done >= total_);
}

void Progress::clear() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(stderr, "\r%*s\r", int(kLineWidth), "");
  std::fflush(stderr);
  drawn_ = false;
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  draw(true);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  finished_ = true;
}

}  // namespace tessel
