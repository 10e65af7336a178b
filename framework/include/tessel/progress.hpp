#pragma once
// One progress line on stderr for long steps (quantize, synth, embed, model
// load): a bar, done/total, the rate and the time left. Drawn only when stderr
// is a terminal, so logs and pipes never get '\r' lines; redrawn at most ten
// times a second.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>


namespace tessel {

class Progress {
 public:
  // `label` starts the line ("quantize"), `unit` follows the counts ("texts");
  // `enabled` defaults to "stderr is a terminal".
  Progress(std::string label, size_t total, std::string unit = {});
  Progress(std::string label, size_t total, std::string unit, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` items of `total` are finished; `detail` (a tensor name...) ends the line.
  void update(size_t done, std::string_view detail = {});
  // Erases the line (before printing a warning); the next update draws it again.
  void clear();
  // Draws the final state and ends the line; called by the destructor if needed.
  void finish();

  bool enabled() const { return enabled_; }
  static bool stderr_is_terminal();

  // The line as drawn, without '\r' (exposed for tests).
  static std::string format(std::string_view label, size_t done, size_t total, std::string_view unit,
                            double seconds, std::string_view detail);

 private:
  void draw(bool force);
  std::string label_, unit_, detail_;
  size_t total_, done_ = 0;
  bool enabled_, drawn_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tessel
