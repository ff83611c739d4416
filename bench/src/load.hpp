// The load: WebSocket connections that speak the chat protocol, send on an
// open-loop schedule and time every ack and delivery.
//
// A Worker holds a slice of the topology's connections on its own I/O
// threads (one io_context each; a connection lives on one thread, so its
// state needs no lock). With several worker processes each holds a slice;
// latencies stay comparable because steady_clock is CLOCK_MONOTONIC, the
// same clock in every process of the machine.
//
// Every method is called from one controlling thread, in this order:
// connect_all, start, wait_acked, drain_and_stop, stats.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "options.hpp"
#include "stats.hpp"
#include "topology.hpp"

namespace parley::bench {

using Clock = std::chrono::steady_clock;

// When the load runs: sending starts at t0, is measured from window_start
// (t0 + warm-up) to window_end, and stops at window_end.
struct Schedule {
  Clock::time_point t0;
  Clock::time_point window_start;
  Clock::time_point window_end;
};

class Worker {
 public:
  // `connections`: indices into topology.connections that this worker opens.
  // Both `options` and `topology` must outlive the worker.
  Worker(const Options& options, const Topology& topology, std::vector<std::uint32_t> connections);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens every connection, at most --connect-concurrency at once, and
  // returns when each has reached "synced" or failed once (failed ones keep
  // retrying in the background). Returns how many are connected.
  std::uint64_t connect_all();

  // Starts the senders, heartbeats and (churn) drops on `schedule`.
  void start(const Schedule& schedule);

  // Blocks until every sender has passed the end of its schedule and every
  // message it sent has been acknowledged, or until `deadline`.
  void wait_acked(Clock::time_point deadline);

  // Sum over this worker's acknowledged messages of their recipients.
  [[nodiscard]] std::uint64_t expected_deliveries() const;

  // Blocks until deliveries stop coming (or, when `expected` > 0, until that
  // many arrived), or until `deadline`; then closes every connection and
  // stops the threads.
  void drain_and_stop(Clock::time_point deadline, std::uint64_t expected);

  // Everything observed; call after drain_and_stop.
  [[nodiscard]] Stats stats() const;

  struct Shared;
  struct Lane;

 private:
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Lane>> lanes_;
};

// Samples a process's CPU time and RSS over the measurement window, the CPU
// time of control groups, and this process's own CPU time; blocks until window_end. pid <= 0: only this
// process.
struct WindowSample {
  double tool_cpu_seconds = 0;
  double server_cpu_start = 0;
  double server_cpu_end = 0;
  long server_rss_start_kib = 0;
  long server_rss_end_kib = 0;
  long server_rss_max_kib = 0;
  bool server_seen = false;
  std::map<std::string, double> server_thread_cpu_start;  // by thread name
  std::map<std::string, double> server_thread_cpu_end;
  // CPU seconds of each --cpu-group over the window, by name (a group that
  // could not be read at both ends is absent).
  std::map<std::string, double> group_cpu_seconds;
};
[[nodiscard]] WindowSample sample_window(const Schedule& schedule, int server_pid,
                                         const std::vector<CpuGroup>& groups = {});

}  // namespace parley::bench
