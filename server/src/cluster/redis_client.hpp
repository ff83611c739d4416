// A small Redis client on hiredis 0.14 (Debian 12's), for the bus between
// parleyd nodes (docs/architecture.md "Several nodes").
//
// Blocking connections, each on a thread of its own, rather than hiredis'
// async API under an Asio adapter (0.14 ships none): a node needs three
// connections at most (a subscriber, a commander, one for counters), the
// work on them is small, and a blocking loop is easy to reason about when
// Redis goes away: every call has a timeout, every failure closes the
// connection, and the owning thread reconnects with exponential backoff.
// Nothing here is the source of truth: a message lost on the way is found
// missing by the reader (cluster/ordered_merge.hpp) and read from the
// database.
//
// Thread safety: RedisConnection is not thread-safe (one owner). Commander
// and Subscriber are thread-safe and own their threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct redisContext;
struct redisReply;

namespace parley::cluster {

// Where Redis is: `redis://[:password@]host[:port][/db]` (port 6379, db 0 by
// default). Throws std::invalid_argument naming what is wrong.
struct RedisEndpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::string password;  // empty: no AUTH
  int db = 0;
  [[nodiscard]] static RedisEndpoint parse(std::string_view url);
  // host:port, for logs (never the password).
  [[nodiscard]] std::string describe() const;
};

// A reply, reduced to what the bus uses.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;  // string, status or error text
  std::vector<RedisReply> elements;
};

// The exponential backoff of reconnects: `initial`, doubled after each
// failure up to `max`, back to `initial` after a success.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) : initial_(initial), max_(max) {}
  // The wait before the next attempt, and doubles the one after.
  std::chrono::milliseconds next() {
    auto wait = current_.count() == 0 ? initial_ : current_;
    current_ = std::min(max_, wait * 2);
    return wait;
  }
  void reset() { current_ = std::chrono::milliseconds{0}; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_{0};
};

// One blocking connection. Every method returns nullopt / false when the
// connection failed (then it is closed; connect() again).
class RedisConnection {
 public:
  RedisConnection() = default;
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects (TCP, then AUTH and SELECT when asked), each step bounded by
  // `timeout`, which then also bounds every command. On failure, `error`
  // says why.
  bool connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout, std::string& error);
  [[nodiscard]] bool connected() const { return context_ != nullptr; }
  void close();

  // Sends one command and reads its reply. A Redis error reply is a reply
  // (type kError), not a failure.
  std::optional<RedisReply> command(const std::vector<std::string>& argv);
  // Several commands in one write, their replies in order (pipelining).
  std::optional<std::vector<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands);
  // Sends a command without reading a reply (SUBSCRIBE's are read by
  // read_reply()).
  bool send(const std::vector<std::string>& argv);
  // Reads the next reply and lets `use` see it as hiredis parsed it, before
  // it is freed: a subscriber's messages, the largest replies, are read in
  // place rather than copied. False with `timed_out` true when nothing came
  // within the read timeout (the connection stays open); otherwise false
  // means the connection failed.
  bool read_reply(bool& timed_out, const std::function<void(const redisReply&)>& use);
  // The read timeout from now on.
  bool set_timeout(std::chrono::milliseconds timeout);

  [[nodiscard]] std::string last_error() const { return last_error_; }

 private:
  bool append(const std::vector<std::string>& argv);
  redisContext* context_ = nullptr;
  std::vector<char> read_buffer_;  // read_reply()'s
  std::string last_error_;
};

// Runs commands on one connection, on its own thread, in the order given.
// At most `queue_limit` wait; beyond that a command is dropped and counted.
// While Redis is unreachable commands are dropped as they come up (their
// callbacks get nullopt) and the thread reconnects with backoff: the bus
// never waits for Redis, and what it loses is read from the database.
class Commander {
 public:
  using Callback = std::function<void(std::optional<RedisReply>)>;
  Commander(RedisEndpoint endpoint, std::size_t queue_limit, std::chrono::milliseconds timeout);
  ~Commander();  // stops

  void start();
  // Drops what waits (their callbacks are not called) and joins the thread.
  void stop();

  // Queues a command. `done` runs on the commander's thread with the reply,
  // or nullopt when it failed or was dropped; it must not block. Returns
  // false (and does not call `done`) when the queue is full.
  bool submit(std::vector<std::string> argv, Callback done = {});

  [[nodiscard]] bool connected() const { return connected_.load(); }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Item {
    std::vector<std::string> argv;
    Callback done;
  };
  void run();

  RedisEndpoint endpoint_;
  std::size_t queue_limit_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;  // guarded by mutex_
  bool stopping_ = false;   // guarded by mutex_
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

// Subscribes to channels on its own connection and thread, and reconnects
// (and subscribes again) with backoff whenever the connection is lost.
// Pub/sub keeps nothing for an absent subscriber: on_up() after every
// (re)connect is the owner's cue to look for what it missed.
class Subscriber {
 public:
  struct Handlers {
    // A message; on the subscriber's thread; must not block.
    std::function<void(std::string_view channel, std::string_view payload)> on_message;
    // Subscribed (after every connect), and the connection lost.
    std::function<void()> on_up;
    std::function<void()> on_down;
  };
  Subscriber(RedisEndpoint endpoint, std::vector<std::string> channels, Handlers handlers,
             std::chrono::milliseconds timeout);
  ~Subscriber();  // stops

  void start();
  void stop();
  [[nodiscard]] bool connected() const { return connected_.load(); }

 private:
  void run();
  bool stopping() const;

  RedisEndpoint endpoint_;
  std::vector<std::string> channels_;
  Handlers handlers_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace parley::cluster
