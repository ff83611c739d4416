#include "proc_stats.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace parley::bench {
namespace {

struct StatLine {
  std::string name;
  double cpu_seconds = 0;
};

// One /proc/.../stat file: the command (or thread) name and user + system
// CPU time.
std::optional<StatLine> read_stat(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::string stat;
  if (!file || !std::getline(file, stat)) return std::nullopt;
  // The name (field 2) may hold spaces and parentheses: the fields after it
  // start past the last ')'.
  auto open = stat.find('(');
  auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  // Field 3 is the state; utime and stime are fields 14 and 15.
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  return StatLine{stat.substr(open + 1, close - open - 1),
                  static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK))};
}

}  // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  std::filesystem::path base = "/proc/" + std::to_string(pid);
  auto process = read_stat(base / "stat");
  if (!process) return std::nullopt;
  ProcSample sample;
  sample.cpu_seconds = process->cpu_seconds;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(base / "task", ec)) {
    // A thread that ends between the listing and the read is skipped.
    if (auto thread = read_stat(task.path() / "stat")) sample.thread_cpu_seconds[thread->name] += thread->cpu_seconds;
  }

  std::ifstream status(base / "status");
  std::string line;
  while (std::getline(status, line)) {
    auto value = [&] { return std::stol(line.substr(line.find(':') + 1)); };
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_kib = value();
    if (line.rfind("VmHWM:", 0) == 0) sample.peak_rss_kib = value();
    if (line.rfind("Threads:", 0) == 0) sample.threads = static_cast<int>(value());
  }
  return sample;
}

std::optional<double> cgroup_cpu_seconds(const std::string& dir) {
  std::filesystem::path base = dir;
  if (std::ifstream usage(base / "cpuacct.usage"); usage) {
    unsigned long long ns = 0;
    if (usage >> ns) return static_cast<double>(ns) / 1e9;
    return std::nullopt;
  }
  std::ifstream stat(base / "cpu.stat");
  std::string key;
  unsigned long long value = 0;
  while (stat >> key >> value) {
    if (key == "usage_usec") return static_cast<double>(value) / 1e6;
  }
  return std::nullopt;
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace parley::bench
