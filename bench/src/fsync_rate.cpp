// parley-fsync-rate: how many small durable writes per second the disk
// takes, one fdatasync() each, and how long each takes: the ceiling of a
// server that commits every message on its own, the yardstick for group
// commit, and the floor under any durable send's latency
// (docs/benchmarks.md).
//
// Usage: parley-fsync-rate [DIR] [SECONDS]  (defaults: ./data, 3)
// Prints one JSON object: fdatasync_per_second, count, seconds,
// cpu_us_per_fdatasync (this thread's CPU time, user and kernel, per write +
// fdatasync: what a durable commit costs a server's CPU at the least), and
// latency_us {count, min, mean, p50, p90, p99, p999, max} of each
// write + fdatasync.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>

#include "histogram.hpp"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  std::filesystem::path dir = argc > 1 ? argv[1] : "data";
  double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  std::filesystem::create_directories(dir);
  auto path = dir / "fsync-rate.probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    std::perror("open");
    return 1;
  }
  const std::string record(100, 'x');  // about one small message
  parley::bench::Histogram latency;
  auto thread_cpu_seconds = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  const double cpu_at_start = thread_cpu_seconds();
  auto start = Clock::now();
  std::chrono::duration<double> elapsed{};
  long count = 0;
  while (elapsed.count() < seconds) {
    auto before = Clock::now();
    if (::write(fd, record.data(), record.size()) < 0 || ::fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      return 1;
    }
    auto after = Clock::now();
    latency.record(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(after - before).count()));
    ++count;
    elapsed = after - start;
  }
  const double cpu_seconds = thread_cpu_seconds() - cpu_at_start;
  ::close(fd);
  std::filesystem::remove(path);
  std::printf(
      "{\"fdatasync_per_second\": %.1f, \"count\": %ld, \"seconds\": %.2f, \"cpu_us_per_fdatasync\": %.1f, "
      "\"latency_us\": %s}\n",
      static_cast<double>(count) / elapsed.count(), count, elapsed.count(),
      count > 0 ? cpu_seconds * 1e6 / static_cast<double>(count) : 0.0,
      boost::json::serialize(latency.summary()).c_str());
  return 0;
}
