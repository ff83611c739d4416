// Progress bars for uploads and downloads of the scriptable subcommands,
// drawn only when stdout is a terminal: piped into a script, the output stays
// what the script parses, and nothing else.
//
//   photo.jpg  [##########..........]  48%  1.2 MiB / 2.5 MiB
//
// Not thread-safe: update() from the thread that owns the bar (the engine's
// progress callbacks are marshalled to it by the caller).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace parley::cli {

// "512 B", "1.5 KiB", "2.0 MiB", "1.1 GiB".
[[nodiscard]] std::string human_bytes(std::int64_t bytes);

// One line of a bar `width` columns wide at most (no newline, no "\r"):
// label, bar, percentage and sizes; without a known total (0), the bytes so
// far and no bar.
[[nodiscard]] std::string render_progress(const std::string& label, std::int64_t done, std::int64_t total, int width);

class ProgressBar {
 public:
  // Draws on `out` when `enabled` (the caller decides: isatty(stdout)).
  ProgressBar(std::FILE* out, std::string label, bool enabled);
  ~ProgressBar();  // finish() if not done
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws at most ten times a second (and always at 100%).
  void update(std::int64_t done, std::int64_t total);
  // Ends the line: the bar stays on screen at its last state.
  void finish();

  // True when this process's stdout is a terminal.
  [[nodiscard]] static bool stdout_is_terminal();

 private:
  std::FILE* out_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace parley::cli
