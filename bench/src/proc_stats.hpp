// What /proc tells about a process: CPU time and resident memory.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

namespace parley::bench {

struct ProcSample {
  double cpu_seconds = 0;     // user + system time since the process started
  long rss_kib = 0;           // VmRSS: resident now
  long peak_rss_kib = 0;      // VmHWM: the most it was ever resident
  int threads = 0;
  // CPU seconds by thread name (threads of one name summed: parleyd names
  // its threads parley-io, parley-writer, ...), to tell which one saturates.
  std::map<std::string, double> thread_cpu_seconds;
};

// Reads /proc/PID/stat, /proc/PID/status and /proc/PID/task/*/stat. nullopt
// when the process does not exist (any more) or the files cannot be parsed.
[[nodiscard]] std::optional<ProcSample> sample_process(pid_t pid);

// CPU seconds used by every process of a control group, `dir` being its
// folder: cgroup v1's cpuacct.usage (ns), else cgroup v2's cpu.stat
// usage_usec. Counts processes that have exited (PostgreSQL's backends), which
// /proc cannot. nullopt when neither file can be read.
[[nodiscard]] std::optional<double> cgroup_cpu_seconds(const std::string& dir);

// CPU seconds (user + system) this process has used, all threads.
[[nodiscard]] double own_cpu_seconds();

}  // namespace parley::bench
