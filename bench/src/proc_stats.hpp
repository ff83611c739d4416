// What /proc tells about a process: CPU time and resident memory.
#pragma once

#include <optional>
#include <sys/types.h>

namespace parley::bench {

struct ProcSample {
  double cpu_seconds = 0;     // user + system time since the process started
  long rss_kib = 0;           // VmRSS: resident now
  long peak_rss_kib = 0;      // VmHWM: the most it was ever resident
  int threads = 0;
};

// Reads /proc/PID/stat and /proc/PID/status. nullopt when the process does
// not exist (any more) or the files cannot be parsed.
[[nodiscard]] std::optional<ProcSample> sample_process(pid_t pid);

// CPU seconds (user + system) this process has used, all threads.
[[nodiscard]] double own_cpu_seconds();

}  // namespace parley::bench
