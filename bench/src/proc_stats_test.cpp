#include "proc_stats.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

namespace parley::bench {
namespace {

// A named thread that burns CPU shows up under its name, with its CPU time;
// the process's own total covers it.
TEST(ProcStats, CpuTimeIsReportedByThreadName) {
  std::atomic<bool> stop{false};
  std::thread spinner([&] {
    pthread_setname_np(pthread_self(), "bench-spinner");
    while (!stop.load(std::memory_order_relaxed)) {
    }
  });
  // /proc counts in clock ticks (10 ms): spin for many of them.
  std::optional<ProcSample> sample;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    sample = sample_process(getpid());
    ASSERT_TRUE(sample);
  } while ((!sample->thread_cpu_seconds.contains("bench-spinner") ||
            sample->thread_cpu_seconds.at("bench-spinner") < 0.1) &&
           std::chrono::steady_clock::now() < deadline);
  stop = true;
  spinner.join();
  ASSERT_TRUE(sample->thread_cpu_seconds.contains("bench-spinner"));
  double spinner_cpu = sample->thread_cpu_seconds.at("bench-spinner");
  EXPECT_GE(spinner_cpu, 0.1);
  EXPECT_GE(sample->cpu_seconds + 0.02, spinner_cpu);
  EXPECT_GE(sample->threads, 2);
}

TEST(ProcStats, AProcessThatDoesNotExistHasNoSample) {
  // PIDs are below pid_max (at most 2^22): this one cannot exist.
  EXPECT_FALSE(sample_process(1 << 23).has_value());
}

// A control group's CPU time from either cgroup version's file; a folder
// with neither has none.
TEST(ProcStats, CgroupCpuTimeFromEitherVersion) {
  auto dir = std::filesystem::temp_directory_path() / ("parley-bench-cgroup-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "v1");
  std::filesystem::create_directories(dir / "v2");
  std::filesystem::create_directories(dir / "none");
  std::ofstream(dir / "v1" / "cpuacct.usage") << "2500000000\n";
  std::ofstream(dir / "v2" / "cpu.stat") << "usage_usec 1750000\nuser_usec 1000000\nsystem_usec 750000\n";
  auto v1 = cgroup_cpu_seconds((dir / "v1").string());
  auto v2 = cgroup_cpu_seconds((dir / "v2").string());
  auto none = cgroup_cpu_seconds((dir / "none").string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(v1);
  EXPECT_DOUBLE_EQ(*v1, 2.5);
  ASSERT_TRUE(v2);
  EXPECT_DOUBLE_EQ(*v2, 1.75);
  EXPECT_FALSE(none);
}

}  // namespace
}  // namespace parley::bench
