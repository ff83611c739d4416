// The app's one thread: engine callbacks and events are posted here (through
// AccountOptions::deliver) and run on the thread that calls run_*; the
// interactive screen waits on the same file descriptor as the terminal, so
// keys and engine events are handled in one place and no ncurses or app
// state is touched from the engine thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>

namespace parley::cli {

class Loop {
 public:
  Loop();  // makes the wake-up pipe
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Any thread: queue a task and wake the loop.
  void post(std::function<void()> task);
  // The loop's thread: run what is queued (tasks posted meanwhile wait for
  // the next call). Returns how many ran.
  int run_pending();
  // The loop's thread: run tasks until `done()` is true or `timeout` passed
  // (also returns early on SIGINT/SIGTERM). Returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // The descriptor that becomes readable when tasks are queued (poll it).
  [[nodiscard]] int wake_fd() const { return pipe_[0]; }

  // Set by SIGINT/SIGTERM (installed by install_signal_handlers).
  [[nodiscard]] static bool interrupted();
  static void install_signal_handlers();

 private:
  void drain_pipe();
  int pipe_[2] = {-1, -1};
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;  // guarded by mutex_
};

}  // namespace parley::cli
