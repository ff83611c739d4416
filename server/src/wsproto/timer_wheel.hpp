// One timer for many connections: a hashed timer wheel (Varghese & Lauck)
// that ticks on one steady_timer and calls each due client once. Connections
// schedule a check at their next deadline (handshake, ping, idle, close)
// instead of each holding an Asio timer (~ 100 bytes and a timer queue
// entry apiece), and look at the clock themselves when called: a deadline
// is met within one tick, which is all heartbeats and idle limits need.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace parley::wsproto {

// What a TimerWheel calls. on_timer runs on the wheel's executor; a client
// on a strand posts to it from there. `token` is the one given to
// schedule(): a client that rescheduled since can tell a stale call.
class TimerClient {
 public:
  virtual void on_timer(std::uint32_t token) = 0;

 protected:
  ~TimerClient() = default;
};

class TimerWheel {
 public:
  // Ticks every `tick` on `executor` once start()ed; a delay longer than
  // `slots` ticks takes more turns of the wheel.
  TimerWheel(boost::asio::any_io_executor executor, std::chrono::milliseconds tick, std::size_t slots = 512);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void start();
  // Cancels the tick; clients not yet called are dropped.
  void stop();

  // Calls `client->on_timer(token)` once, never before `delay` has passed
  // and at most two ticks after, if the client still exists then. Any
  // thread.
  void schedule(std::weak_ptr<TimerClient> client, std::chrono::milliseconds delay, std::uint32_t token = 0);

  [[nodiscard]] std::chrono::milliseconds tick() const noexcept { return tick_; }
  // Clients waiting, for tests and metrics.
  [[nodiscard]] std::size_t pending() const;

 private:
  struct Entry {
    std::weak_ptr<TimerClient> client;
    std::uint32_t rounds;  // whole turns of the wheel still to wait
    std::uint32_t token;
  };
  void arm();
  void on_tick();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds tick_;
  std::chrono::steady_clock::time_point next_tick_;
  mutable std::mutex mutex_;
  std::vector<std::vector<Entry>> slots_;  // guarded by mutex_
  std::size_t current_ = 0;                // guarded by mutex_
  std::size_t pending_ = 0;                // guarded by mutex_
  bool running_ = false;
};

}  // namespace parley::wsproto
