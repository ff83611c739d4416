#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace parley::cli {

std::string human_bytes(std::int64_t bytes) {
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  return buf;
}

std::string render_progress(const std::string& label, std::int64_t done, std::int64_t total, int width) {
  if (total <= 0) {
    std::string line = label + "  " + human_bytes(done);
    return line.substr(0, static_cast<std::size_t>(std::max(width, 0)));
  }
  done = std::clamp<std::int64_t>(done, 0, total);
  int percent = static_cast<int>(done * 100 / total);
  char tail[64];
  std::snprintf(tail, sizeof tail, "  %3d%%  %s / %s", percent, human_bytes(done).c_str(), human_bytes(total).c_str());
  // label, two spaces, [bar], tail: the bar takes what is left, 10..40 wide.
  std::string name = label;
  int fixed = static_cast<int>(std::string(tail).size()) + 4;
  int bar = std::clamp(width - fixed - static_cast<int>(name.size()), 10, 40);
  if (static_cast<int>(name.size()) + bar + fixed > width) {
    int room = std::max(width - bar - fixed, 3);
    if (static_cast<int>(name.size()) > room) name = name.substr(0, static_cast<std::size_t>(room - 1)) + "~";
  }
  int filled = static_cast<int>(done * bar / total);
  return name + "  [" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(bar - filled), '.') + "]" + tail;
}

ProgressBar::ProgressBar(std::FILE* out, std::string label, bool enabled)
    : out_(out), label_(std::move(label)), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

bool ProgressBar::stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

void ProgressBar::update(std::int64_t done, std::int64_t total) {
  if (!enabled_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  bool complete = total > 0 && done >= total;
  if (drawn_ && !complete && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  int width = 80;
  winsize ws{};
  if (::ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) width = ws.ws_col;
  // \r and erase-to-end: redraw in place.
  std::fprintf(out_, "\r%s\x1b[K", render_progress(label_, done, total, width - 1).c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_ && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

}  // namespace parley::cli
