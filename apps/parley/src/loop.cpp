#include "loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <stdexcept>

namespace parley::cli {
namespace {
std::atomic<bool> g_interrupted{false};
int g_signal_pipe = -1;  // the write end of the last Loop, for the handler

void on_signal(int) {
  g_interrupted = true;
  if (g_signal_pipe >= 0) {
    char c = 's';
    [[maybe_unused]] auto n = ::write(g_signal_pipe, &c, 1);
  }
}
}  // namespace

Loop::Loop() {
  if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  g_signal_pipe = pipe_[1];
}

Loop::~Loop() {
  g_signal_pipe = -1;
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

bool Loop::interrupted() { return g_interrupted.load(); }

void Loop::install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

void Loop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  char c = 't';
  // A full pipe already means "wake up": losing this byte loses nothing.
  [[maybe_unused]] auto n = ::write(pipe_[1], &c, 1);
}

void Loop::drain_pipe() {
  char buf[256];
  while (::read(pipe_[0], buf, sizeof buf) > 0) {
  }
}

int Loop::run_pending() {
  drain_pipe();
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
  return static_cast<int>(batch.size());
}

bool Loop::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (interrupted()) return false;
    // Rounded up: poll() would otherwise return just before the deadline.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return done();
    pollfd pfd{pipe_[0], POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    run_pending();
  }
  return true;
}

}  // namespace parley::cli
