// The order in which a store tells its EventSink about a batch and answers
// the batch's writes, for the storage backends' tests of
// EventSink::committed. Header-only: the unit tests use it without the
// black-box support library.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"

namespace parley::test {

// Logs what the store tells it and when the writes are answered.
class OrderSink final : public storage::EventSink {
 public:
  void committed(const std::vector<storage::Event>& events) override { note("committed " + count(events)); }
  // PgStore reports ranges: EventSink's publish_range() passes them on here.
  void publish(std::vector<storage::Event> events) override { note("published " + count(events)); }
  void note(std::string what) {
    std::lock_guard lock(mutex_);
    log_.push_back(std::move(what));
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mutex_);
    return log_;
  }

 private:
  static std::string count(const std::vector<storage::Event>& events) { return std::to_string(events.size()); }
  std::mutex mutex_;
  std::vector<std::string> log_;
};

// Holds the writer with a first write (no events) so that three writes, each
// emitting one event, queue behind it and commit as one batch; returns the
// sink's log once the last is answered and the batch published.
inline std::vector<std::string> batch_order(storage::Store& store) {
  OrderSink sink;
  store.set_event_sink(&sink);
  std::promise<void> release;
  std::promise<void> holding;
  std::vector<std::promise<void>> answered(4);
  auto answer = [&](std::size_t i) {
    return [&sink, &answered, i](std::exception_ptr error) {
      sink.note(error ? "failed" : "answered");
      answered[i].set_value();
    };
  };
  store.submit_write(
      [&, future = release.get_future().share()](storage::Transaction&) {
        holding.set_value();
        future.wait();
      },
      answer(0));
  holding.get_future().wait();
  auto emit_one = [](storage::Transaction& tx) {
    storage::Event event;
    event.pos = tx.next_position();
    event.payload = std::make_shared<const std::string>(R"({"type":"test"})");
    tx.emit(std::move(event), storage::Transaction::Keep::kMessagesTable);
  };
  for (std::size_t i = 1; i < answered.size(); ++i) store.submit_write(emit_one, answer(i));
  release.set_value();
  for (auto& done : answered) done.get_future().wait();
  // publish() follows the last answer on the writer's thread.
  for (int i = 0; i < 400 && sink.log().size() < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  store.set_event_sink(nullptr);
  return sink.log();
}

// What batch_order() returns when the sink hears of the batch before its
// writes are answered.
inline std::vector<std::string> committed_before_answers() {
  return {"answered", "committed 3", "answered", "answered", "answered", "published 3"};
}

}  // namespace parley::test
