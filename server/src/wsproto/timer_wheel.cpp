#include "wsproto/timer_wheel.hpp"

#include <algorithm>

namespace parley::wsproto {

TimerWheel::TimerWheel(boost::asio::any_io_executor executor, std::chrono::milliseconds tick, std::size_t slots)
    : timer_(std::move(executor)),
      tick_(tick.count() > 0 ? tick : std::chrono::milliseconds(1)),
      slots_(slots ? slots : 1) {}

void TimerWheel::start() {
  running_ = true;
  next_tick_ = std::chrono::steady_clock::now() + tick_;
  arm();
}

void TimerWheel::stop() {
  running_ = false;
  timer_.cancel();
  std::lock_guard lock(mutex_);
  for (auto& slot : slots_) slot.clear();
  pending_ = 0;
}

void TimerWheel::arm() {
  // Ticks keep to a fixed schedule (not "tick after the last one ran"),
  // so that a busy thread does not stretch every deadline.
  timer_.expires_at(next_tick_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !running_) return;
    next_tick_ += tick_;
    on_tick();
    arm();
  });
}

void TimerWheel::schedule(std::weak_ptr<TimerClient> client, std::chrono::milliseconds delay, std::uint32_t token) {
  // The next tick comes within one tick from now, so k ticks take more than
  // (k - 1) ticks of time: one more than the delay's whole ticks is never
  // early.
  auto ticks =
      static_cast<std::size_t>((std::max<std::int64_t>(delay.count(), 0) + tick_.count() - 1) / tick_.count()) + 1;
  std::lock_guard lock(mutex_);
  std::size_t slot = (current_ + ticks) % slots_.size();
  auto rounds = static_cast<std::uint32_t>((ticks - 1) / slots_.size());
  slots_[slot].push_back({std::move(client), rounds, token});
  ++pending_;
}

std::size_t TimerWheel::pending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

void TimerWheel::on_tick() {
  std::vector<Entry> due;
  {
    std::lock_guard lock(mutex_);
    current_ = (current_ + 1) % slots_.size();
    auto& slot = slots_[current_];
    std::size_t kept = 0;
    for (auto& entry : slot) {
      if (entry.rounds == 0) {
        due.push_back(std::move(entry));
      } else {
        --entry.rounds;
        slot[kept++] = std::move(entry);
      }
    }
    slot.resize(kept);
    if (slot.capacity() > 64 && kept < slot.capacity() / 4) slot.shrink_to_fit();
    pending_ -= due.size();
  }
  // Outside the lock: a client may schedule itself again.
  for (auto& entry : due) {
    if (auto client = entry.client.lock()) client->on_timer(entry.token);
  }
}

}  // namespace parley::wsproto
