#include "load.hpp"

#include <atomic>
#include <charconv>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "proc_stats.hpp"

namespace parley::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::awaitable;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr auto kOpenTimeout = std::chrono::seconds(30);
constexpr auto kRetryDelay = std::chrono::seconds(1);
constexpr auto kStopGrace = std::chrono::seconds(5);

std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_ns(std::int64_t ns) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

std::uint64_t micros_between(std::int64_t from_ns, std::int64_t to) {
  return to > from_ns ? static_cast<std::uint64_t>((to - from_ns) / 1000) : 0;
}

// A client_id of this tool: RUN.CONNECTION.SEQ.INTENDED_NS (at most 64
// characters, as the protocol allows).
struct ClientId {
  std::string_view run;
  std::uint32_t origin = 0;
  std::uint64_t seq = 0;
  std::int64_t intended_ns = 0;
};

template <typename T>
bool parse_number(std::string_view& text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{}) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  if (!text.empty() && text.front() == '.') text.remove_prefix(1);
  return true;
}

std::optional<ClientId> parse_client_id(std::string_view text) {
  ClientId id;
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  id.run = text.substr(0, dot);
  text.remove_prefix(dot + 1);
  if (!parse_number(text, id.origin) || !parse_number(text, id.seq) || !parse_number(text, id.intended_ns)) {
    return std::nullopt;
  }
  return id;
}

std::string_view string_at(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->get_string()) : std::string_view();
}

std::int64_t int_at(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_number() ? value->to_number<std::int64_t>() : 0;
}

const boost::json::object* object_at(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

// A frame waiting to be written; seq != 0 for a message.
struct Outgoing {
  std::string text;
  std::uint64_t seq = 0;
};

// One WebSocket connection from TCP connect to its end. Shared by the
// reading and writing coroutines, which both must end before it goes.
struct Session {
  explicit Session(asio::io_context& io) : ws(io), wake(io), deadline(io) {}

  void shut() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws).socket().close(ignored);
  }

  websocket::stream<beast::tcp_stream> ws;
  asio::steady_timer wake;      // the writer waits on it for frames
  asio::steady_timer deadline;  // ends a connection that does not reach "synced" in time
  std::deque<Outgoing> outbox;
  bool ready = false;  // "synced": frames may be sent
  bool alive = true;
};

}  // namespace

struct Worker::Shared {
  Shared(const Options& o, const Topology& t) : options(o), topology(t) {}

  const Options& options;
  const Topology& topology;
  std::vector<tcp::endpoint> servers;  // connection i talks to servers[i % size]
  std::vector<std::string> host_headers;
  std::vector<asio::ip::address> sources;
  std::unordered_map<std::int64_t, std::uint32_t> conversation_by_id;
  double interval_ns = 0;  // between one connection's messages; 0 = no messages
  Schedule schedule;       // written before start() posts to the threads

  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> opened{0};     // first attempts finished, good or not
  std::atomic<std::uint64_t> connected{0};  // first attempts that succeeded
  std::atomic<std::int64_t> outstanding{0};  // messages scheduled and not yet acked
  std::atomic<std::int64_t> senders_running{0};
  std::atomic<std::uint64_t> expected{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::int64_t> last_delivery_ns{0};
};

namespace {

using Shared = Worker::Shared;

// One simulated device: its connection (reopened after drops), its schedule,
// and what it has seen. Lives on one I/O thread.
class Client {
 public:
  Client(Shared& shared, asio::io_context& io, Stats& stats, std::uint32_t index)
      : s_(shared),
        io_(io),
        stats_(stats),
        index_(index),
        rng_(index * 7919ULL + 17),
        send_timer_(io),
        churn_timer_(io),
        retry_timer_(io) {}

  // Connects, says hello (resuming from the last position seen, if any) and
  // reads until "synced". True when synced.
  awaitable<bool> open(bool first) {
    auto session = std::make_shared<Session>(io_);
    session_ = session;
    auto started = Clock::now();
    auto& stream = beast::get_lowest_layer(session->ws);
    auto& socket = stream.socket();
    boost::system::error_code ec;
    socket.open(tcp::v4(), ec);
    // Browsers send WebSocket frames at once; so must the tool, or Nagle's
    // algorithm holds a small frame behind an unacknowledged one.
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    if (!ec && !s_.sources.empty()) {
#ifdef IP_BIND_ADDRESS_NO_PORT
      // Choose the port at connect time, so each source address has the
      // whole ephemeral range for each destination.
      int one = 1;
      setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
      socket.bind(tcp::endpoint(s_.sources[index_ % s_.sources.size()], 0), ec);
    }
    if (ec) co_return opened(first, session, "socket", ec.message());

    session->deadline.expires_after(kOpenTimeout);
    session->deadline.async_wait([session](boost::system::error_code wait_ec) {
      if (!wait_ec && !session->ready) session->shut();
    });
    auto [connect_ec] = co_await stream.async_connect(s_.servers[index_ % s_.servers.size()], kTuple);
    if (connect_ec) co_return opened(first, session, "connect", connect_ec.message());

    session->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    if (s_.options.deflate) {
      websocket::permessage_deflate deflate;
      deflate.client_enable = true;
      session->ws.set_option(deflate);
    }
    session->ws.read_message_max(16 << 20);
    session->ws.text(true);
    auto [handshake_ec] = co_await session->ws.async_handshake(s_.host_headers[index_ % s_.host_headers.size()], "/ws", kTuple);
    if (handshake_ec) co_return opened(first, session, "handshake", handshake_ec.message());

    std::string hello = hello_frame(first);
    auto [hello_ec, written] = co_await session->ws.async_write(asio::buffer(hello), kTuple);
    if (hello_ec) co_return opened(first, session, "hello", hello_ec.message());

    resuming_ = !first;
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [read_ec, n] = co_await session->ws.async_read(buffer, kTuple);
      if (read_ec) co_return opened(first, session, "hello", close_reason(*session, read_ec));
      std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
      if (handle(text, Clock::now())) break;
    }
    resuming_ = false;
    session->deadline.cancel();
    session->ready = true;
    auto took = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
    if (first) {
      stats_.connect.record(took);
      ++stats_.connected;
      ++s_.connected;
    } else {
      stats_.resume.record(took);
      ++stats_.reconnects;
      if (in_window(to_ns(Clock::now()))) ++stats_.reconnects_in_window;
    }
    requeue_unacked(*session);
    co_return true;
  }

  // Serves the connection until it ends, then reconnects (after the churn
  // downtime if this tool dropped it, after a pause otherwise) until stopped.
  awaitable<void> lifecycle(bool connected) {
    for (;;) {
      bool dropped_by_us = false;
      if (connected) dropped_by_us = co_await serve();
      if (s_.stopping) co_return;
      retry_timer_.expires_after(dropped_by_us ? std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(s_.options.churn_downtime))
                                               : Clock::duration(kRetryDelay));
      co_await retry_timer_.async_wait(kTuple);
      if (s_.stopping) co_return;
      connected = co_await open(false);
    }
  }

  // Sends on the schedule: message k at t0 + phase + k * interval until the
  // window ends, whatever the server's answers (open loop); also heartbeats
  // and, in the mix, read receipts.
  awaitable<void> send_loop() {
    const auto& options = s_.options;
    const auto& connection = s_.topology.connections[index_];
    std::uniform_real_distribution<double> unit(0, 1);
    const std::int64_t t0 = to_ns(s_.schedule.t0);
    const std::int64_t end = to_ns(s_.schedule.window_end);
    constexpr std::int64_t kNever = INT64_MAX;
    bool sending = sends();
    const double phase = sending ? unit(rng_) * s_.interval_ns : 0;
    std::uint64_t k = 0;
    auto next_send = [&] { return t0 + std::llround(phase + static_cast<double>(k) * s_.interval_ns); };
    auto stop_sending = [&] {
      if (sending) --s_.senders_running;
      sending = false;
    };
    const auto heartbeat_ns = std::llround(options.heartbeat * 1e9);
    std::int64_t next_ping = heartbeat_ns > 0 ? t0 + std::llround(unit(rng_) * static_cast<double>(heartbeat_ns)) : kNever;
    const bool receipts = options.scenario == Scenario::kMix && !connection.targets.empty();
    const auto read_ns = std::llround(options.read_interval * 1e9);
    std::int64_t next_read = receipts ? t0 + std::llround(unit(rng_) * static_cast<double>(read_ns)) : kNever;

    for (;;) {
      if (sending && next_send() >= end) stop_sending();
      std::int64_t next = earliest(sending ? next_send() : kNever, next_ping, next_read);
      if (next == kNever) break;
      send_timer_.expires_at(from_ns(next));
      co_await send_timer_.async_wait(kTuple);
      if (s_.stopping) break;
      std::int64_t now = to_ns(Clock::now());
      // Behind schedule, every message due is sent now, each still stamped
      // with its own intended time.
      while (sending && next_send() <= now && next_send() < end) {
        send_message(next_send());
        ++k;
      }
      if (next_ping <= now) {
        send_ping();
        next_ping += heartbeat_ns;
      }
      if (next_read <= now) {
        send_receipts();
        next_read += read_ns;
      }
    }
    stop_sending();
  }

  // Churn: drops the connection at exponentially distributed intervals
  // until the window ends.
  awaitable<void> churn_loop() {
    std::exponential_distribution<double> lifetime(1.0 / s_.options.churn_interval);
    for (;;) {
      churn_timer_.expires_after(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(lifetime(rng_))));
      co_await churn_timer_.async_wait(kTuple);
      if (s_.stopping || Clock::now() >= s_.schedule.window_end) co_return;
      if (session_ && session_->ready) {
        dropping_ = true;
        session_->shut();
      }
    }
  }

  [[nodiscard]] bool sends() const {
    return s_.interval_ns > 0 && !s_.topology.connections[index_].targets.empty();
  }

  void stop() {
    send_timer_.cancel();
    churn_timer_.cancel();
    retry_timer_.cancel();
    if (session_) {
      session_->deadline.cancel();
      session_->shut();
    }
  }

 private:
  struct Pending {
    std::int64_t intended_ns = 0;
    std::uint32_t conversation = 0;
    bool written = false;
    std::string frame;
  };

  // Messages sent into a connection that then broke may or may not have
  // been stored: they are sent again with the same client_id. (Not in a
  // coroutine: GCC 12 miscompiles some braced initialisations there.)
  void requeue_unacked(Session& session) {
    for (auto& [seq, pending] : unacked_) {
      if (pending.written) ++stats_.resent;
      session.outbox.push_back(Outgoing{pending.frame, seq});
    }
  }

  void send_ping() {
    push(Outgoing{R"({"type":"ping"})", 0});
    ++stats_.pings_sent;
  }

  static std::int64_t earliest(std::int64_t a, std::int64_t b, std::int64_t c) { return std::min(a, std::min(b, c)); }

  bool opened(bool first, const std::shared_ptr<Session>& session, std::string_view stage, const std::string& why) {
    session->deadline.cancel();
    session->shut();
    if (session_ == session) session_.reset();
    resuming_ = false;
    if (s_.stopping) return false;
    if (first) ++stats_.connect_failures;
    stats_.error(fmt::format("{} failed: {}", stage, why), fmt::format("connection {}: {} failed: {}", index_, stage, why));
    return false;
  }

  std::string hello_frame(bool first) const {
    boost::json::object hello{{"type", "hello"}, {"token", s_.topology.users[s_.topology.connections[index_].user].token}};
    if (!first && position_ >= 0) hello["position"] = position_;
    return boost::json::serialize(hello);
  }

  static std::string close_reason(const Session& session, const boost::system::error_code& ec) {
    if (ec == websocket::error::closed) {
      const auto& reason = session.ws.reason();
      return fmt::format("close {} {}", static_cast<unsigned>(reason.code), std::string_view(reason.reason.data(), reason.reason.size()));
    }
    return ec.message();
  }

  // Reads frames until the connection ends; true if this tool dropped it.
  awaitable<bool> serve() {
    auto session = session_;
    asio::co_spawn(io_, write_loop(session), asio::detached);
    session->wake.cancel();
    beast::flat_buffer buffer;
    bool dropped_by_us = false;
    for (;;) {
      buffer.clear();
      auto [ec, n] = co_await session->ws.async_read(buffer, kTuple);
      if (ec) {
        dropped_by_us = dropping_;
        dropping_ = false;
        if (!dropped_by_us && !s_.stopping) {
          ++stats_.unexpected_disconnects;
          auto reason = close_reason(*session, ec);
          Stats::count(stats_.close_codes, reason);
          stats_.error("disconnected: " + reason, fmt::format("connection {} ended: {}", index_, reason));
        }
        break;
      }
      handle(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()), Clock::now());
    }
    session->alive = false;
    session->ready = false;
    session->wake.cancel();
    session->shut();
    if (session_ == session) session_.reset();
    co_return dropped_by_us;
  }

  awaitable<void> write_loop(std::shared_ptr<Session> session) {
    while (session->alive) {
      if (session->outbox.empty()) {
        session->wake.expires_at(Clock::time_point::max());
        co_await session->wake.async_wait(kTuple);
        continue;
      }
      Outgoing out = std::move(session->outbox.front());
      session->outbox.pop_front();
      auto [ec, n] = co_await session->ws.async_write(asio::buffer(out.text), kTuple);
      if (ec) {
        session->shut();  // the reader sees it and ends the session
        break;
      }
      if (out.seq != 0) {
        auto it = unacked_.find(out.seq);
        if (it != unacked_.end() && !it->second.written) {
          it->second.written = true;
          ++stats_.written;
          stats_.send_lag.record(micros_between(it->second.intended_ns, to_ns(Clock::now())));
        }
      }
    }
  }

  void push(Outgoing out) {
    if (!session_ || !session_->ready) return;  // messages wait in unacked_ for the next connection
    session_->outbox.push_back(std::move(out));
    session_->wake.cancel();
  }

  void send_message(std::int64_t intended_ns) {
    const auto& targets = s_.topology.connections[index_].targets;
    double pick = std::uniform_real_distribution<double>(0, 1)(rng_);
    std::uint32_t target = targets.back().conversation;
    for (const auto& t : targets) {
      if (pick < t.cumulative) {
        target = t.conversation;
        break;
      }
    }
    const auto& conversation = s_.topology.conversations[target];
    if (s_.options.scenario == Scenario::kMix &&
        std::uniform_real_distribution<double>(0, 1)(rng_) < s_.options.typing_fraction) {
      push(Outgoing{fmt::format(R"({{"type":"typing","conversation_id":{}}})", conversation.id), 0});
      ++stats_.typing_sent;
    }
    std::uint64_t seq = ++seq_;
    // The text carries the intended time too, for people reading the data.
    std::string text = fmt::format("t={} #{} ", intended_ns, seq);
    if (text.size() < s_.options.message_bytes) text.append(s_.options.message_bytes - text.size(), 'x');
    std::string frame =
        fmt::format(R"({{"type":"send","conversation_id":{},"client_id":"{}.{}.{}.{}","text":"{}","ref":"{}"}})",
                    conversation.id, s_.options.run_id, index_, seq, intended_ns, text, seq);
    unacked_.emplace(seq, Pending{intended_ns, target, false, frame});
    ++stats_.scheduled;
    ++s_.outstanding;
    push(Outgoing{std::move(frame), seq});
  }

  void send_receipts() {
    for (auto& [conversation, seqs] : unread_) {
      if (seqs.first <= seqs.second) continue;
      push(Outgoing{fmt::format(R"({{"type":"read","conversation_id":{},"seq":{}}})",
                                s_.topology.conversations[conversation].id, seqs.first),
                    0});
      seqs.second = seqs.first;
      ++stats_.receipts_sent;
    }
  }

  [[nodiscard]] bool in_window(std::int64_t ns) const {
    return ns >= to_ns(s_.schedule.window_start) && ns < to_ns(s_.schedule.window_end);
  }

  // Handles one frame; true for "synced" or "resync_required".
  bool handle(std::string_view text, Clock::time_point arrival) {
    unsigned char scratch[8192];
    boost::json::monotonic_resource memory(scratch, sizeof scratch);
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec, &memory);
    if (ec || !value.is_object()) {
      stats_.error("malformed frame", std::string(text.substr(0, 200)));
      return false;
    }
    const auto& frame = value.get_object();
    auto type = string_at(frame, "type");
    Stats::count(stats_.frames, type);
    std::int64_t now = to_ns(arrival);
    if (type == "event") {
      on_event(frame, now);
    } else if (type == "ack") {
      on_ack(frame, now);
    } else if (type == "error") {
      on_error(frame);
    } else if (type == "synced") {
      position_ = int_at(frame, "position");
      return true;
    } else if (type == "resync_required") {
      ++stats_.resync_required;
      position_ = int_at(frame, "position");
      return true;
    }
    return false;
  }

  void on_event(const boost::json::object& frame, std::int64_t now) {
    position_ = std::max(position_, int_at(frame, "position"));
    if (resuming_) ++stats_.replayed_events;
    const auto* event = object_at(frame, "event");
    const auto* message = event != nullptr ? object_at(*event, "message") : nullptr;
    if (message == nullptr || string_at(*event, "type") != "message.new") {
      ++stats_.other_events;
      return;
    }
    auto id = parse_client_id(string_at(*message, "client_id"));
    if (!id || id->run != s_.options.run_id) {
      ++stats_.foreign_messages;
      return;
    }
    if (id->origin == index_) {
      ++stats_.echoes;
      return;
    }
    // Every message seen from each sender, so that a resume that replays
    // one twice is told from one that reorders: counted exactly.
    constexpr std::uint64_t kMaxSeq = 1U << 24;  // far beyond any run; bounds the bitmap
    if (id->seq > kMaxSeq) {
      ++stats_.foreign_messages;
      return;
    }
    auto& seen = seen_[id->origin];
    if (id->seq < seen.received.size() && seen.received[id->seq]) {
      ++stats_.repeated_deliveries;
      return;
    }
    if (id->seq >= seen.received.size()) seen.received.resize(std::max<std::size_t>(id->seq + 1, 2 * seen.received.size()));
    seen.received[id->seq] = true;
    if (id->seq <= seen.newest) {
      ++stats_.out_of_order;
      return;
    }
    seen.newest = id->seq;
    if (resuming_) ++stats_.resumed_deliveries;
    ++stats_.delivered;
    ++s_.delivered;
    s_.last_delivery_ns.store(now, std::memory_order_relaxed);
    if (in_window(now)) ++stats_.delivered_in_window;
    if (in_window(id->intended_ns)) stats_.delivery.record(micros_between(id->intended_ns, now));
    if (s_.options.scenario == Scenario::kMix) {
      auto it = s_.conversation_by_id.find(int_at(*message, "conversation_id"));
      if (it != s_.conversation_by_id.end()) {
        auto& seqs = unread_[it->second];
        seqs.first = std::max(seqs.first, int_at(*message, "seq"));
      }
    }
  }

  void on_ack(const boost::json::object& frame, std::int64_t now) {
    auto id = parse_client_id(string_at(frame, "client_id"));
    auto it = id ? unacked_.find(id->seq) : unacked_.end();
    if (it == unacked_.end()) {
      ++stats_.stray_acks;
      return;
    }
    const auto* duplicate = frame.if_contains("duplicate");
    if (duplicate != nullptr && duplicate->is_bool() && duplicate->get_bool()) ++stats_.duplicate_acks;
    ++stats_.acked;
    if (in_window(now)) ++stats_.acked_in_window;
    if (in_window(it->second.intended_ns)) stats_.ack.record(micros_between(it->second.intended_ns, now));
    auto recipients = s_.topology.conversations[it->second.conversation].connections.size() - 1;
    stats_.expected_deliveries += recipients;
    s_.expected += recipients;
    unacked_.erase(it);
    --s_.outstanding;
  }

  void on_error(const boost::json::object& frame) {
    ++stats_.error_frames;
    auto code = string_at(frame, "code");
    stats_.error(fmt::format("server error: {}", code),
                 fmt::format("connection {}: {} {}", index_, code, string_at(frame, "message")));
    auto ref = string_at(frame, "ref");
    std::uint64_t seq = 0;
    if (ref.empty() || std::from_chars(ref.data(), ref.data() + ref.size(), seq).ec != std::errc{}) return;
    if (unacked_.erase(seq) > 0) {
      ++stats_.failed_sends;
      --s_.outstanding;
    }
  }

  Shared& s_;
  asio::io_context& io_;
  Stats& stats_;
  std::uint32_t index_;
  std::mt19937_64 rng_;
  asio::steady_timer send_timer_;
  asio::steady_timer churn_timer_;
  asio::steady_timer retry_timer_;
  std::shared_ptr<Session> session_;  // the current connection, if any
  bool resuming_ = false;             // between hello and "synced" of a reconnection
  bool dropping_ = false;             // this tool is dropping the connection (churn)
  std::int64_t position_ = -1;        // the newest stream position seen
  std::uint64_t seq_ = 0;             // the last message number used
  std::map<std::uint64_t, Pending> unacked_;
  struct Seen {
    std::uint64_t newest = 0;    // the newest seq delivered
    std::vector<bool> received;  // by seq
  };
  std::unordered_map<std::uint32_t, Seen> seen_;  // by sending connection
  std::map<std::uint32_t, std::pair<std::int64_t, std::int64_t>> unread_;  // conversation -> (newest seq, read seq)
};

}  // namespace

struct Worker::Lane {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::vector<std::unique_ptr<Client>> clients;
  Stats stats;
  std::size_t next_to_open = 0;
  std::thread thread;
  std::atomic<bool> finished{false};
};

Worker::Worker(const Options& options, const Topology& topology, std::vector<std::uint32_t> connections)
    : shared_(std::make_unique<Shared>(options, topology)) {
  auto& s = *shared_;
  for (const auto& server : server_list(options)) {
    s.servers.emplace_back(asio::ip::make_address(server.host), server.port);
    s.host_headers.push_back(fmt::format("{}:{}", server.host, server.port));
  }
  for (const auto& source : options.source_addresses) s.sources.push_back(asio::ip::make_address(source));
  for (std::uint32_t i = 0; i < topology.conversations.size(); ++i) s.conversation_by_id[topology.conversations[i].id] = i;
  if (options.rate > 0) s.interval_ns = 1e9 * static_cast<double>(topology.connections.size()) / options.rate;

  unsigned lanes = std::max(1U, std::min<unsigned>(options.threads, static_cast<unsigned>(connections.size())));
  for (unsigned i = 0; i < lanes; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->guard.emplace(lane->io.get_executor());
    lanes_.push_back(std::move(lane));
  }
  for (std::size_t i = 0; i < connections.size(); ++i) {
    auto& lane = *lanes_[i % lanes];
    lane.clients.push_back(std::make_unique<Client>(s, lane.io, lane.stats, connections[i]));
  }
  for (auto& lane : lanes_) {
    lane->thread = std::thread([l = lane.get()] {
      l->io.run();
      l->finished = true;
    });
  }
}

Worker::~Worker() {
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) {
      lane->io.stop();
      lane->thread.join();
    }
  }
}

std::uint64_t Worker::connect_all() {
  auto& s = *shared_;
  std::size_t total = 0;
  unsigned per_lane = std::max<unsigned>(1, s.options.connect_concurrency / static_cast<unsigned>(lanes_.size()));
  for (auto& lane_ptr : lanes_) {
    auto* lane = lane_ptr.get();
    total += lane->clients.size();
    for (unsigned k = 0; k < per_lane; ++k) {
      asio::co_spawn(
          lane->io,
          [lane, &s]() -> awaitable<void> {
            while (lane->next_to_open < lane->clients.size() && !s.stopping) {
              auto& client = *lane->clients[lane->next_to_open++];
              bool ok = co_await client.open(true);
              ++s.opened;
              asio::co_spawn(lane->io, client.lifecycle(ok), asio::detached);
            }
          },
          asio::detached);
    }
  }
  auto last_report = Clock::now();
  while (s.opened < total) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!s.options.quiet && Clock::now() - last_report > std::chrono::seconds(2)) {
      last_report = Clock::now();
      std::cerr << fmt::format("connect: {}/{} connected, {} failed\n", s.connected.load(), total,
                               s.opened.load() - s.connected.load());
    }
  }
  return s.connected;
}

void Worker::start(const Schedule& schedule) {
  auto& s = *shared_;
  s.schedule = schedule;
  for (auto& lane : lanes_) {
    for (auto& client : lane->clients) {
      if (client->sends()) ++s.senders_running;
    }
  }
  for (auto& lane_ptr : lanes_) {
    auto* lane = lane_ptr.get();
    asio::post(lane->io, [lane, &s] {
      for (auto& client : lane->clients) {
        asio::co_spawn(lane->io, client->send_loop(), asio::detached);
        if (s.options.scenario == Scenario::kChurn) asio::co_spawn(lane->io, client->churn_loop(), asio::detached);
      }
    });
  }
}

void Worker::wait_acked(Clock::time_point deadline) {
  auto& s = *shared_;
  while (Clock::now() < deadline) {
    if (Clock::now() >= s.schedule.window_end && s.senders_running == 0 && s.outstanding <= 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::uint64_t Worker::expected_deliveries() const { return shared_->expected; }

void Worker::drain_and_stop(Clock::time_point deadline, std::uint64_t expected) {
  auto& s = *shared_;
  auto quiet = std::chrono::nanoseconds(
      std::llround(1e9 * (1.0 + (s.options.scenario == Scenario::kChurn ? s.options.churn_downtime : 0.0))));
  auto drain_start = to_ns(Clock::now());
  while (Clock::now() < deadline) {
    if (expected > 0 && s.delivered >= expected) break;
    auto last = std::max(s.last_delivery_ns.load(), drain_start);
    if (to_ns(Clock::now()) - last >= quiet.count()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  s.stopping = true;
  for (auto& lane_ptr : lanes_) {
    auto* lane = lane_ptr.get();
    asio::post(lane->io, [lane] {
      for (auto& client : lane->clients) client->stop();
    });
    lane->guard.reset();
  }
  auto grace_end = Clock::now() + kStopGrace;
  for (auto& lane : lanes_) {
    while (!lane->finished && Clock::now() < grace_end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!lane->finished) lane->io.stop();
    lane->thread.join();
  }
}

Stats Worker::stats() const {
  Stats total;
  for (const auto& lane : lanes_) total.merge(lane->stats);
  return total;
}

WindowSample sample_window(const Schedule& schedule, int server_pid, const std::vector<CpuGroup>& groups) {
  WindowSample result;
  std::this_thread::sleep_until(schedule.window_start);
  double cpu_start = own_cpu_seconds();
  std::map<std::string, double> group_start;
  for (const auto& group : groups) {
    if (auto cpu = cgroup_cpu_seconds(group.path)) group_start[group.name] = *cpu;
  }
  if (server_pid > 0) {
    if (auto sample = sample_process(server_pid)) {
      result.server_seen = true;
      result.server_cpu_start = sample->cpu_seconds;
      result.server_thread_cpu_start = sample->thread_cpu_seconds;
      result.server_rss_start_kib = sample->rss_kib;
      result.server_rss_max_kib = sample->rss_kib;
    }
  }
  while (Clock::now() < schedule.window_end) {
    std::this_thread::sleep_until(std::min(schedule.window_end, Clock::now() + std::chrono::milliseconds(500)));
    if (server_pid <= 0) continue;
    if (auto sample = sample_process(server_pid)) {
      result.server_rss_max_kib = std::max(result.server_rss_max_kib, sample->rss_kib);
      result.server_cpu_end = sample->cpu_seconds;
      result.server_thread_cpu_end = sample->thread_cpu_seconds;
      result.server_rss_end_kib = sample->rss_kib;
    } else {
      result.server_seen = false;  // it went away during the window
    }
  }
  result.tool_cpu_seconds = own_cpu_seconds() - cpu_start;
  for (const auto& group : groups) {
    auto start = group_start.find(group.name);
    auto end = cgroup_cpu_seconds(group.path);
    if (start != group_start.end() && end) result.group_cpu_seconds[group.name] = *end - start->second;
  }
  return result;
}

}  // namespace parley::bench
