#include "proc_stats.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace parley::bench {

std::optional<ProcSample> sample_process(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(base + "/stat");
  std::string stat;
  if (!stat_file || !std::getline(stat_file, stat)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: the fields
  // after it start past the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  // Field 3 is the state; utime and stime are fields 14 and 15.
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  ProcSample sample;
  sample.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));

  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto value = [&] { return std::stol(line.substr(line.find(':') + 1)); };
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_kib = value();
    if (line.rfind("VmHWM:", 0) == 0) sample.peak_rss_kib = value();
    if (line.rfind("Threads:", 0) == 0) sample.threads = static_cast<int>(value());
  }
  return sample;
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace parley::bench
