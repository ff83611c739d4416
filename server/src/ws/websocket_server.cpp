#include "ws/websocket_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/json/serialize.hpp>
#include <functional>
#include <limits>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "auth/token.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "events/emit.hpp"
#include "http/tls_upgrade.hpp"
#include "http/upgrade.hpp"
#include "messaging/messages.hpp"
#include "metrics/metrics.hpp"
#include "net/tls_stream.hpp"
#include "realtime/hub.hpp"
#include "realtime/presence.hpp"
#include "storage/store.hpp"
#include "ws/connection_limits.hpp"
#include "ws/connection_strand.hpp"
#include "ws/frame_handlers.hpp"
#include "wsproto/connection.hpp"

namespace parley::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using boost::json::object;
using storage::Position;
using storage::Transaction;
using Frame = std::shared_ptr<const std::string>;

namespace {

// Typing indicators: one per conversation per connection every 2 s at most, shown
// by clients for 6 s unless renewed.
constexpr auto kTypingInterval = std::chrono::seconds(2);
constexpr int kTypingExpiresMs = 6000;
// A client that keeps sending past the rate limit after this many refusals
// in a row is disconnected.
constexpr int kMaxRefusals = 20;
// Slow consumers. One commit can hand a connection hundreds of frames at
// once, so the queue's size alone does not tell a slow reader from a burst:
// past max_outbound_bytes a client is too slow only once its socket has
// taken nothing for kStallTime; past kBurstFactor times the limit it is too
// slow at once. The frames are shared by all recipients, so a burst costs
// little memory per connection; a stuck reader must not keep them forever.
constexpr auto kStallTime = std::chrono::seconds(1);
constexpr std::size_t kBurstFactor = 8;
// Answers held for their events, at most, before they leave anyway: a
// bound, not expected to be reached (a batch holds fewer of one
// connection's writes than max_inflight_writes).
constexpr unsigned kMaxHeldAnswers = 256;
constexpr std::chrono::milliseconds kMaxAnswerHold{20};
// What a refusal over a connection cap tells the client to wait: a place
// frees up only when another connection closes, which a client cannot know.
constexpr std::chrono::seconds kCapRetryAfter{30};

Frame make_frame(const object& value) { return std::make_shared<const std::string>(boost::json::serialize(value)); }

void add_ref(object& frame, const std::optional<std::string>& ref) {
  if (ref) frame["ref"] = *ref;
}

Frame error_frame(const std::optional<std::string>& ref, ErrorCode code, std::string_view message) {
  object frame{{"type", "error"}, {"code", error_name(code)}, {"message", message}};
  add_ref(frame, ref);
  return make_frame(frame);
}

Frame error_frame(const std::optional<std::string>& ref, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return error_frame(ref, e.code(), e.what());
  } catch (const std::exception& e) {
    log::get("ws")->error("request failed error=\"{}\"", e.what());
    return error_frame(ref, ErrorCode::kInternal, "internal error");
  }
}

// True when a browser's Origin is the server itself or explicitly allowed.
bool origin_allowed(std::string_view origin, std::string_view host, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;  // not a browser
  for (const auto& entry : allowed) {
    if (entry == origin) return true;
  }
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view origin_host = origin.substr(scheme_end + 3);
  if (origin_host.size() != host.size()) return false;
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(origin_host[i])) != std::tolower(static_cast<unsigned char>(host[i]))) {
      return false;
    }
  }
  return true;
}

// The close code for a hello refused with `code` (docs/protocol.md).
std::uint16_t hello_close_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthorized:
      return realtime::close_code::kUnauthorized;
    case ErrorCode::kTooManyRequests:  // over the user's connection cap
      return realtime::close_code::kRateLimited;
    default:
      return wsproto::close_code::kPolicyViolation;
  }
}

}  // namespace

// What every WebSocket connection shares: the layer's options, made once
// from the configuration, and the one timer wheel that keeps their
// heartbeats, idle limits, close handshakes and hello deadlines.
class Transport {
 public:
  Transport(asio::any_io_executor executor, const WebSocketOptions& options)
      : wheel_(std::move(executor), tick_for(options)) {
    auto& o = connection_options_;
    // A message over max_frame_bytes, whole or in one frame, compressed or
    // inflated, is refused with 1009 (a deflate bomb included).
    o.limits.max_frame_bytes = options.max_frame_bytes;
    o.limits.max_message_bytes = options.max_frame_bytes;
    o.deflate.enabled = true;
    // No server context takeover, plain or TLS: each compressed frame
    // stands alone, so that (i) a fan-out's compressed form is made once
    // and shared by every recipient, (ii) an idle connection holds no zlib
    // state (a 15-bit window with memLevel 8 is ~ 256 KiB per connection),
    // and (iii) over TLS, text a peer gets into this connection's frames
    // cannot be compared with earlier frames through the encrypted sizes (a
    // CRIME-style oracle). docs/benchmarks.md has the measurements.
    o.deflate.context_takeover = false;
    // Slow consumers. One commit can hand a connection hundreds of frames
    // at once, so the queue's size alone does not tell a slow reader from
    // a burst: past max_outbound_bytes a client is too slow only once its
    // socket has taken nothing for kStallTime; past kBurstFactor times the
    // limit it is too slow at once. The frames are shared by all
    // recipients, so a burst costs little memory per connection; a stuck
    // reader must not keep them forever.
    o.max_queued_bytes = options.max_outbound_bytes * kBurstFactor;
    o.stall_bytes = options.max_outbound_bytes;
    o.stall_time = kStallTime;
    o.handshake_timeout = options.handshake_timeout;
    o.idle_timeout = options.idle_timeout;  // a ping at half of it
    o.close_timeout = options.handshake_timeout;
    o.server_name = "parleyd";
    wheel_.start();
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport() { wheel_.stop(); }

  const wsproto::ConnectionOptions& options() const noexcept { return connection_options_; }
  wsproto::TimerWheel& wheel() noexcept { return wheel_; }

 private:
  // Deadlines are met within a tick or two: a tenth of the shortest limit,
  // between 10 ms and 1 s.
  static std::chrono::milliseconds tick_for(const WebSocketOptions& options) {
    auto shortest = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min(options.handshake_timeout,
                 options.idle_timeout.count() > 0 ? options.idle_timeout : options.handshake_timeout));
    return std::clamp(shortest / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  }

  wsproto::ConnectionOptions connection_options_;
  wsproto::TimerWheel wheel_;
};

namespace {

// The frame of a message for one connection: a fan-out's frame (the same
// buffer handed by the hub to every recipient) is framed, and compressed,
// once per I/O thread and shared by every recipient's queue there.
wsproto::SharedMessage prepare(const Frame& frame, const wsproto::DeflateOptions* deflate) {
  if (frame.use_count() <= 1) {
    // This connection's own (an ack, an answer): nobody to share it with.
    return wsproto::PreparedMessage::make(wsproto::Opcode::kText, *frame, {.deflate = deflate});
  }
  struct Entry {
    std::weak_ptr<const std::string> frame;  // keeps its control block: never reused while here
    wsproto::SharedMessage message;
  };
  thread_local std::array<Entry, 8> cache;
  thread_local std::size_t next = 0;
  for (auto& entry : cache) {
    if (!entry.message || entry.frame.owner_before(frame) || frame.owner_before(entry.frame)) continue;
    if (deflate && !entry.message->has_compressed() && frame->size() >= deflate->min_compress_bytes) break;
    return entry.message;
  }
  auto message = wsproto::PreparedMessage::make(wsproto::Opcode::kText, *frame, {.deflate = deflate});
  cache[next] = Entry{frame, message};
  next = (next + 1) % cache.size();
  return message;
}

// One logger for all sessions, looked up once (log::get locks and looks up
// by name: not a cost for every connection, nor 16 bytes in each).
const std::shared_ptr<spdlog::logger>& logger() {
  static const auto ws_logger = log::get("ws");
  return ws_logger;
}

// One connected device. Everything runs on the connection's strand; the
// Device methods post onto it. The connection (wsproto::Connection) owns
// the session as its handler; the session holds the connection only from
// on_open to on_closed.
//
// An idle connection holds no coroutine, no timer and no read buffer: the
// layer waits for the socket to become readable, and the shared timer
// wheel keeps its heartbeat.
template <class Stream>
class Session final : public realtime::Device,
                      public wsproto::SessionHandler,
                      public wsproto::TimerClient,
                      public std::enable_shared_from_this<Session<Stream>> {
  using Connection = wsproto::Connection<Stream>;

 public:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  // The tickets and the slot hold the connection's places in the caps for
  // as long as the session lives. `principal` and `user_ticket` are set
  // when the upgrade request authenticated the device, else the hello does.
  Session(Context& context, Strand strand, std::optional<auth::Principal> principal,
          std::optional<ConnectionLimits::UserTicket> user_ticket, ConnectionLimits::AddressTicket address_ticket,
          std::shared_ptr<void> connection_slot)
      : context_(context),
        principal_(principal.value_or(auth::Principal{})),
        authenticated_(principal.has_value()),
        strand_(std::move(strand)),
        user_ticket_(std::move(user_ticket)),
        address_ticket_(std::move(address_ticket)),
        connection_slot_(std::move(connection_slot)) {}

  storage::UserId user_id() const override { return principal_.user_id; }
  storage::SessionId session_id() const override { return principal_.session_id; }

  void deliver_event(Position pos, Frame frame) override {
    asio::post(strand_, [self = shared_from_this(), pos, frame = std::move(frame)]() mutable {
      self->cork();
      self->on_event(pos, std::move(frame));
      self->uncork();
      self->release_answers(pos);
    });
  }

  // A commit's events for this device: one post, not one per event, and
  // one gathered write for all of them.
  void deliver_events(EventFrames frames) override {
    asio::post(strand_, [self = shared_from_this(), frames = std::move(frames)]() mutable {
      self->cork();
      for (auto& [pos, frame] : frames) self->on_event(pos, std::move(frame));
      self->uncork();
      if (!frames.empty()) self->release_answers(frames.back().first);
    });
  }

  void deliver_ephemeral(Frame frame) override {
    asio::post(strand_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
      if (self->synced_) self->enqueue(std::move(frame));
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->begin_close(code, std::move(reason));
    });
  }

  std::shared_ptr<Connection> live_connection() const { return connection_.lock(); }

  // A connection that does not read has no pending operation to keep it
  // alive while the session waits (for the database, or the catch-up): the
  // session holds it until reading resumes.
  void pause_connection() {
    if (auto live = live_connection()) {
      live->pause_reading();
      held_while_paused_ = std::move(live);
    }
  }

  // ---- wsproto::SessionHandler (on the strand) -------------------------------

  void on_open(wsproto::Session& connection) override {
    connection_ = std::static_pointer_cast<Connection>(static_cast<Connection&>(connection).shared_from_this());
    deflate_ = connection.deflate() ? &context_.transport->options().deflate : nullptr;
    // The hello must come within the handshake timeout.
    context_.transport->wheel().schedule(
        this->weak_from_this(), std::chrono::duration_cast<std::chrono::milliseconds>(options().handshake_timeout));
  }

  void on_message(wsproto::Session&, wsproto::Opcode opcode, std::string&& payload) override {
    if (closing_) return;  // draining until the close handshake ends
    if (!hello_received_) {
      hello_received_ = true;
      asio::co_spawn(strand_, hello(std::move(payload)), asio::detached);
      return;
    }
    if (!serving_ || paused_ || deferred_head_ < deferred_.size() || held_for_delivery()) {
      // Read before the catch-up ended, while writes wait for the database,
      // or while the node catches up on its deliveries: kept, in order,
      // until then. Bounded: reading pauses, so at most what one read of
      // the socket brought waits here.
      deferred_.emplace_back(opcode, std::move(payload));
      pause_connection();
      return;
    }
    receive(opcode, payload);
  }

  void on_closed(wsproto::Session&, std::uint16_t code, boost::system::error_code error) override {
    if (error == wsproto::make_error_code(wsproto::Error::kQueueFull)) {
      // Cut by the layer (see Transport): it stopped reading.
      logger()->info("disconnecting slow consumer user_id={} session_id={}", user_id(), session_id());
    } else if (error && error != asio::error::eof && error != asio::error::operation_aborted) {
      logger()->debug("connection ended user_id={} code={} reason=\"{}\"", user_id(), code, error.message());
    }
    connection_over();
  }

  // wsproto::TimerClient: the hello's deadline (token 0), or the bound on
  // answers held for their events (their generation).
  void on_timer(std::uint32_t token) override {
    asio::post(strand_, [self = shared_from_this(), token] {
      if (token == 0) {
        if (!self->hello_received_) self->begin_close(realtime::close_code::kHelloTimeout, "no hello in time");
      } else if (token == self->answers_generation_) {
        self->release_answers();
      }
    });
  }

 private:
  // Authenticates the hello (unless the upgrade request did), then catches
  // up from its position and serves.
  awaitable<void> hello(std::string text) {
    auto self = shared_from_this();
    Hello hello;
    std::optional<std::pair<std::uint16_t, std::string>> refusal;
    try {
      hello = parse_hello(text);
      if (!authenticated_) {
        if (!hello.token) throw ApiError(ErrorCode::kUnauthorized, "hello: token is required");
        principal_ = co_await context_.services.authenticator.authenticate_token(*hello.token);
        authenticated_ = true;
      }
      if (!user_ticket_) {
        user_ticket_ = context_.limits.admit_user(principal_.user_id, principal_.session_id);
        if (!user_ticket_) throw ApiError(ErrorCode::kTooManyRequests, "too many connections for this user");
      }
    } catch (const ApiError& e) {
      refusal.emplace(hello_close_code(e.code()), e.what());
    } catch (const std::exception& e) {
      logger()->error("hello failed error=\"{}\"", e.what());
      refusal.emplace(wsproto::close_code::kInternalError, "internal error");
    }
    if (refusal) {
      begin_close(refusal->first, std::move(refusal->second));
      co_return;
    }
    if (over_) co_return;  // the connection ended while authenticating
    logger()->debug("connected user_id={} session_id={}", user_id(), session_id());
    start(hello.position);
  }

  // Catches up from `resume_from` (if given), then serves until the
  // connection ends.
  void start(std::optional<Position> resume_from) {
    auto self = shared_from_this();
    bool valid = false;
    try {
      // The session was checked at hello; a revocation committed since then
      // found no device to close. Checked again once the hub knows the
      // device, a revocation cannot slip between the two.
      valid = context_.hub.attach_checked(self, [this] { return session_still_exists(); });
      attached_ = valid;
    } catch (const std::exception& e) {
      logger()->error("session check failed user_id={} error=\"{}\"", user_id(), e.what());
      return begin_close(wsproto::close_code::kInternalError, "internal error");
    }
    if (!valid) return begin_close(realtime::close_code::kSessionRevoked, "session revoked");
    cork();
    try {
      catch_up(resume_from);
    } catch (const std::exception& e) {
      logger()->error("catch-up failed user_id={} error=\"{}\"", user_id(), e.what());
      begin_close(wsproto::close_code::kInternalError, "internal error");
    }
    serving_ = true;
    uncork();
    drain_deferred();
  }

  bool session_still_exists() { return context_.services.authenticator.session_exists(user_id(), session_id()); }

  // The connection ended (closed, failed, timed out or cut). Runs once;
  // pending handlers then find the session over.
  void connection_over() {
    over_ = true;
    answers_corked_ = false;
    connection_.reset();
    held_while_paused_.reset();
    clear_deferred();
    pending_ = {};
    if (!attached_) return;
    context_.hub.detach(*this);
    // A device that only uses the WebSocket still counts as using its
    // session: record when it was last connected.
    context_.services.authenticator.touch(session_id(), now_millis());
  }

  // Built outside any coroutine: GCC 12 miscompiles some braced
  // initialisations inside coroutines.
  Frame welcome_frame() {
    object welcome{{"type", "welcome"},
                   {"user_id", user_id()},
                   {"session_id", session_id()},
                   {"presence", context_.presence.visible_to(user_id())},
                   {"limits", object{{"max_frame_bytes", options().max_frame_bytes},
                                     {"frames_per_second", options().frames_per_second},
                                     {"frame_burst", options().frame_burst},
                                     {"user_frames_per_second", options().user_frames_per_second},
                                     {"user_frame_burst", options().user_frame_burst},
                                     {"max_connections_per_user", options().max_connections_per_user},
                                     {"idle_timeout_ms", options().idle_timeout.count() * 1000}}}};
    return make_frame(welcome);
  }

  static Frame position_frame(std::string_view type, Position pos) {
    return make_frame(object{{"type", type}, {"position", pos}});
  }

  // Queues the welcome, the events since `from` and `synced` (or
  // `resync_required`): corked, they leave in as few writes as the socket
  // takes. Events the hub delivers meanwhile wait on the strand.
  void catch_up(std::optional<Position> from) {
    auto& store = context_.services.store;
    send_now(welcome_frame());

    std::vector<Transaction::StreamItem> items;
    Position current = 0;
    if (from && context_.hub.nothing_since(user_id(), *from)) {
      current = *from;  // nothing new for this user, known from memory: no read
    } else if (from) {
      items = store.read([&](Transaction& tx) {
        auto found = tx.stream_since(user_id(), *from, options().max_resume_events + 1);
        current = tx.current_position();
        return found;
      });
    } else {
      current = store.read([](Transaction& tx) { return tx.current_position(); });
    }
    if (!items.empty()) current = std::max(current, items.back().pos);

    if (from && (*from > current || items.size() > options().max_resume_events)) {
      // Too far behind (or ahead of this server): page history instead.
      last_pos_ = current;
      send_now(position_frame("resync_required", current));
    } else {
      last_pos_ = from.value_or(current);
      for (const auto& item : items) {
        auto payload = item.payload ? item.payload : events::message_payload(*item.message);
        send_now(realtime::Hub::event_frame(item.pos, *payload));
        last_pos_ = item.pos;
      }
      send_now(position_frame("synced", last_pos_));
    }
    synced_ = true;
    // What arrived live before the catch-up, minus what it covered.
    for (auto& [pos, frame] : pending_) {
      if (pos <= last_pos_) continue;
      last_pos_ = pos;
      enqueue(std::move(frame));
    }
    pending_ = {};
    pending_bytes_ = 0;
  }

  // A catch-up frame: the catch-up is bounded by max_resume_events, and
  // its events are in memory already; the client reads them at its pace.
  void send_now(const Frame& frame) {
    if (auto live = live_connection(); live && !over_) live->send_unbounded(prepare(frame, deflate_));
  }

  void cork() {
    if (auto live = live_connection()) live->cork();
  }
  void uncork() {
    if (auto live = live_connection()) live->uncork();
  }

  // One committed event, on the strand.
  void on_event(Position pos, Frame frame) {
    if (!synced_) {
      pending_bytes_ += frame->size();
      pending_.emplace_back(pos, std::move(frame));
      if (pending_bytes_ > options().max_outbound_bytes * kBurstFactor) drop_too_slow();
      return;
    }
    if (pos <= last_pos_) return;  // already sent while catching up
    last_pos_ = pos;
    enqueue(std::move(frame));
  }

  // The ack of a new message, queued as soon as its write completes, but
  // held in the connection's queue (corked) until the message's own
  // message.new is queued behind it: both leave in one write. The event
  // always follows: the store answers every write of a batch before it
  // hands the batch's events to the hub (whose strand then posts them
  // here), and the sender's device is among a new message's recipients.
  // The hold ends with the first post of events that reaches the first
  // held answer's position: answers of later batches queued meanwhile
  // leave then too, without waiting for their own events, so that a
  // client that keeps many sends in flight never has its queue grow
  // behind a hold. Only the flush waits: the answer counts as done (reads
  // resume at once, so such a client is never left waiting on a
  // connection that stopped reading), and at most kMaxHeldAnswers
  // answers, for at most kMaxAnswerHold (within a tick of the timer
  // wheel), are held before they leave anyway.
  void queue_answer_held(Frame frame, Position event_pos) {
    if (over_ || closing_ || connection_.expired()) return;
    if (!answers_corked_) {
      answers_corked_ = true;
      first_awaited_pos_ = event_pos;
      cork();
      // The bound in time, should an event never come.
      if (++answers_generation_ == 0) ++answers_generation_;  // 0 is the hello's
      context_.transport->wheel().schedule(this->weak_from_this(), kMaxAnswerHold, answers_generation_);
    }
    enqueue(std::move(frame));
    if (++held_answers_ >= kMaxHeldAnswers) release_answers();
  }

  // Events up to `pos` are queued: held answers leave with them, once the
  // first one's event is among them (no `pos`: at once).
  void release_answers(Position pos = std::numeric_limits<Position>::max()) {
    if (!answers_corked_ || pos < first_awaited_pos_) return;
    answers_corked_ = false;
    held_answers_ = 0;
    uncork();
  }

  // Queues a frame; the layer cuts a peer that stopped reading (see
  // Transport).
  void enqueue(Frame frame) {
    auto live = live_connection();
    if (over_ || closing_ || !live) return;
    live->send(prepare(frame, deflate_));
  }

  // The peer does not read fast enough: cut the connection (no close frame
  // can get through a full socket). The device resumes when it reconnects.
  void drop_too_slow() {
    if (over_) return;
    logger()->info("disconnecting slow consumer user_id={} session_id={} queued_bytes={}", user_id(), session_id(),
                  pending_bytes_);
    pending_ = {};
    if (auto live = live_connection()) {
      boost::system::error_code ignored;
      if constexpr (std::is_same_v<Stream, net::TlsStream>) {
        beast::get_lowest_layer(live->stream()).socket().close(ignored);
      } else {
        live->stream().close(ignored);
      }
      live->resume_reading();  // the read side sees the end and reports it
    }
  }

  void begin_close(std::uint16_t code, std::string reason) {
    if (closing_ || over_) return;
    release_answers();  // the close frame must not wait behind them
    closing_ = true;
    clear_deferred();
    if (auto live = live_connection()) live->close(code, std::move(reason));
  }

  // Handles what was read while the catch-up ran or while writes waited
  // for the database, then reads on.
  void drain_deferred() {
    while (deferred_head_ < deferred_.size() && !paused_ && !closing_ && !over_) {
      if (held_for_delivery()) return;
      auto [opcode, payload] = std::move(deferred_[deferred_head_++]);
      receive(opcode, payload);
    }
    if (deferred_head_ < deferred_.size()) return;
    clear_deferred();
    if (auto live = live_connection(); live && !paused_) {
      held_while_paused_.reset();
      live->resume_reading();
    }
  }

  // Flow control on the node (Hub::hold_intake): while the node's delivery
  // backlog is past its bound, the client's frames wait, unread, until the
  // node says to go on.
  bool held_for_delivery() {
    if (held_) return true;
    if (!context_.hub.hold_intake([self = shared_from_this()] {
          asio::post(self->strand_, [self] {
            self->held_ = false;
            self->drain_deferred();
          });
        })) {
      return false;
    }
    held_ = true;
    return true;
  }

  void clear_deferred() {
    deferred_ = {};
    deferred_head_ = 0;
  }

  void resume_reading() {
    if (!paused_ || inflight_ >= options().max_inflight_writes) return;
    paused_ = false;
    drain_deferred();
  }

  // One message read from the client.
  void receive(wsproto::Opcode opcode, const std::string& payload) {
    if (opcode != wsproto::Opcode::kText) {
      begin_close(realtime::close_code::kUnsupportedData, "binary frames are not supported");
      return;
    }
    // Budgets shared with the user's and the session's other connections:
    // more sockets bring no more frames.
    if (!user_ticket_->allow_frame()) {
      if (++refusals_ > kMaxRefusals) {
        begin_close(realtime::close_code::kRateLimited, "rate limit exceeded");
      } else {
        enqueue(error_frame(std::nullopt, ErrorCode::kTooManyRequests, "frame rate limit exceeded; frame dropped"));
      }
      return;
    }
    refusals_ = 0;
    handle(payload);
    // Backpressure: too many of this connection's writes wait for the
    // database; the client's next frames wait in the socket.
    if (inflight_ >= options().max_inflight_writes && !paused_) {
      paused_ = true;
      pause_connection();
    }
  }

  void handle(std::string_view text) {
    std::optional<std::string> ref;
    try {
      auto request = parse_client_frame(text, ref);
      std::visit([&](auto& r) { execute(ref, r); }, request);
    } catch (...) {
      // Whatever failed (a bad frame, or the database), the client gets an
      // error frame and the connection carries on.
      enqueue(error_frame(ref, std::current_exception()));
    }
  }

  // ---- what each request does (validated by ws/frame_handlers.cpp) ----------

  void execute(const std::optional<std::string>& ref, SendRequest& send) {
    auto user = user_id();
    auto result = std::make_shared<messaging::SendResult>();
    // What the send reads, for a backend that reads it for a whole batch.
    storage::Store::SendHint hint{send.message.conversation_id, user, send.message.client_id};
    submit(
        ref,
        [user, request = std::move(send.message), result](Transaction& tx) {
          *result = messaging::send(tx, user, request);
        },
        [result, ref] {
          const auto& m = result->message;
          object ack{{"type", "ack"},
                     {"client_id", m.client_id},
                     {"conversation_id", m.conversation_id},
                     {"message_id", m.id},
                     {"seq", m.seq},
                     {"position", m.pos},
                     {"created_at", m.created_at},
                     {"duplicate", result->duplicate}};
          add_ref(ack, ref);
          return make_frame(ack);
        },
        // A new message's event follows its ack; a duplicate has none.
        [result] { return result->duplicate ? Position{0} : result->message.pos; }, std::move(hint));
  }

  void execute(const std::optional<std::string>& ref, EditRequest& edit) {
    submit_ok(ref, [user = user_id(), id = edit.message_id, text = std::move(edit.text)](Transaction& tx) {
      messaging::edit(tx, user, id, text);
    });
  }

  void execute(const std::optional<std::string>& ref, DeleteRequest& remove) {
    submit_ok(ref, [user = user_id(), id = remove.message_id](Transaction& tx) { messaging::remove(tx, user, id); });
  }

  void execute(const std::optional<std::string>& ref, ReactRequest& react) {
    submit_ok(ref, [user = user_id(), id = react.message_id, emoji = std::move(react.emoji),
                    add = !react.remove](Transaction& tx) { messaging::react(tx, user, id, emoji, add); });
  }

  void execute(const std::optional<std::string>& ref, ReceiptRequest& receipt) {
    submit_ok(ref, [user = user_id(), receipt](Transaction& tx) {
      if (receipt.read) {
        messaging::mark_read(tx, user, receipt.conversation_id, receipt.seq);
      } else {
        messaging::mark_delivered(tx, user, receipt.conversation_id, receipt.seq);
      }
    });
  }

  void execute(const std::optional<std::string>&, TypingRequest& typing_request) {
    typing(typing_request.conversation_id);
  }

  void execute(const std::optional<std::string>& ref, PingRequest&) {
    object pong{{"type", "pong"}};
    add_ref(pong, ref);
    enqueue(make_frame(pong));
  }

  // Queues a write; `reply` builds the answer after its commit. `event_of`
  // gives the position of the event the write's own device will receive
  // for it (0: none), whose frame the answer waits for in the queue.
  template <typename Body, typename Reply, typename EventOf>
  void submit(const std::optional<std::string>& ref, Body body, Reply reply, EventOf event_of,
              std::optional<storage::Store::SendHint> hint = std::nullopt) {
    ++inflight_;
    auto self = shared_from_this();
    auto done = [self, ref, reply, event_of](std::exception_ptr error) {
      // On the writer's thread, which commits nothing else meanwhile: the
      // answer is built on the connection's strand.
      asio::post(self->strand_, [self, ref, reply, event_of, error] {
        --self->inflight_;
        if (error) {
          self->enqueue(error_frame(ref, error));
        } else if (Position pos = event_of(); pos > 0) {
          self->queue_answer_held(reply(), pos);
        } else {
          self->enqueue(reply());
        }
        self->resume_reading();
      });
    };
    if (hint) {
      context_.services.store.submit_send(std::move(body), std::move(done), std::move(*hint));
    } else {
      context_.services.store.submit_write(std::move(body), std::move(done));
    }
  }

  template <typename Body, typename Reply>
  void submit(const std::optional<std::string>& ref, Body body, Reply reply) {
    submit(ref, std::move(body), std::move(reply), [] { return Position{0}; });
  }

  template <typename Body>
  void submit_ok(const std::optional<std::string>& ref, Body body) {
    submit(ref, std::move(body), [ref] {
      object ok{{"type", "ok"}};
      add_ref(ok, ref);
      return make_frame(ok);
    });
  }

  void typing(storage::ConversationId conversation) {
    // Membership first, so that a non-member is told not_found every time;
    // a member's typing reads nothing while memberships stay as they were.
    auto members = context_.presence.conversation_members(conversation, user_id(), [&] {
      return context_.services.store.read([&](Transaction& tx) {
        messaging::require_member(tx, conversation, user_id());
        return tx.member_ids(conversation);
      });
    });
    auto now = std::chrono::steady_clock::now();
    if (!last_typing_) last_typing_ = std::make_unique<TypingTimes>();
    if (last_typing_->size() > 256) last_typing_->clear();  // bounded; only throttling state is lost
    auto& last = (*last_typing_)[conversation];
    if (now - last < kTypingInterval) return;  // throttled: silently dropped
    last = now;
    // Members' devices on other nodes too (ephemeral: over the cluster
    // bus when there is one, never stored).
    context_.hub.send_to_users_everywhere(*members,
                                          make_frame(object{{"type", "typing"},
                                                            {"conversation_id", conversation},
                                                            {"user_id", user_id()},
                                                            {"expires_in_ms", kTypingExpiresMs}}),
                                          user_id());
  }

  const WebSocketOptions& options() const noexcept { return context_.options; }

  Context& context_;
  auth::Principal principal_;
  bool authenticated_ = false;
  Strand strand_;  // the connection's (see ws/connection_strand.hpp)
  std::optional<ConnectionLimits::UserTicket> user_ticket_;
  ConnectionLimits::AddressTicket address_ticket_;
  std::shared_ptr<void> connection_slot_;  // the place in http.max_connections
  // From on_open to on_closed. Held weakly: the connection owns this session
  // (its handler) and keeps itself alive through its pending operations, so
  // destroying those (an io_context shut down while a close handshake is
  // still pending) frees both, where a strong pointer here left a cycle.
  std::weak_ptr<Connection> connection_;
  std::shared_ptr<Connection> held_while_paused_;  // see pause_connection()
  const wsproto::DeflateOptions* deflate_ = nullptr;  // when negotiated: the shared compressed forms

  bool hello_received_ = false;
  bool attached_ = false;  // to the hub
  bool synced_ = false;
  Position last_pos_ = 0;                            // the newest position queued for the device
  std::vector<std::pair<Position, Frame>> pending_;  // live events held while catching up
  std::size_t pending_bytes_ = 0;
  // Messages read but not handled yet (before serving, or while paused).
  // A vector used as a queue (deferred_head_ is the next): an empty
  // std::deque would still hold a 512-byte block per idle connection.
  std::vector<std::pair<wsproto::Opcode, std::string>> deferred_;
  std::size_t deferred_head_ = 0;
  bool serving_ = false;  // caught up: client frames are handled
  bool paused_ = false;   // by backpressure, until a database write completes
  bool held_ = false;     // by the node's flow control, until Hub::hold_intake resumes it
  bool closing_ = false;
  bool over_ = false;
  unsigned inflight_ = 0;
  int refusals_ = 0;
  bool answers_corked_ = false;  // answers wait in the queue for their events (queue_answer_held)
  unsigned held_answers_ = 0;
  Position first_awaited_pos_ = 0;  // the event the first held answer waits for
  std::uint32_t answers_generation_ = 0;  // of the current hold, for its timer
  // Made at the first typing indicator: most connections never send one,
  // and an empty map is 56 bytes.
  using TypingTimes = std::unordered_map<storage::ConversationId, std::chrono::steady_clock::time_point>;
  std::unique_ptr<TypingTimes> last_typing_;
};

}  // namespace

std::shared_ptr<Transport> make_transport(asio::any_io_executor executor, const WebSocketOptions& options) {
  return std::make_shared<Transport>(std::move(executor), options);
}

template <class Stream, class Upgrade>
awaitable<void> serve_upgrade(Upgrade upgrade, Context& context) {
  const auto& options = context.options;
  auto& request = upgrade.request;
  auto observe = [&](int status) {
    context.services.metrics.observe_request("GET", upgrade.route, status,
                                             std::chrono::steady_clock::now() - upgrade.started);
  };

  if (!origin_allowed(request[beast::http::field::origin], request[beast::http::field::host],
                      options.allowed_origins)) {
    observe(http_status(ErrorCode::kForbidden));
    co_await http::write_response(upgrade.stream,
                                  http::Response::error(ApiError(ErrorCode::kForbidden, "origin not allowed")), false);
    co_return;
  }
  auto address_ticket = context.limits.admit_address(upgrade.remote_address);
  if (!address_ticket) {
    ApiError error(ErrorCode::kTooManyRequests, "too many WebSocket connections from this address", kCapRetryAfter);
    observe(http_status(error.code()));
    co_await http::write_response(upgrade.stream, http::Response::error(error), false);
    co_return;
  }
  // Native clients may authenticate in the upgrade request; browsers, which
  // cannot set headers there, in the hello frame.
  std::optional<auth::Principal> principal;
  if (auto header = request[beast::http::field::authorization]; !header.empty()) {
    std::optional<http::Response> refused;
    try {
      principal = co_await context.services.authenticator.authenticate(header);
    } catch (const ApiError& e) {
      refused = http::Response::error(e);
    } catch (const std::exception& e) {
      logger()->error("upgrade authentication failed error=\"{}\"", e.what());
      refused = http::Response::error(ApiError(ErrorCode::kInternal, "internal error"));
    }
    if (refused) {
      observe(refused->status);
      co_await http::write_response(upgrade.stream, std::move(*refused), false);
      co_return;
    }
  }
  // Authenticated already: over the user's cap, refuse the upgrade itself.
  std::optional<ConnectionLimits::UserTicket> user_ticket;
  if (principal) {
    user_ticket = context.limits.admit_user(principal->user_id, principal->session_id);
    if (!user_ticket) {
      ApiError error(ErrorCode::kTooManyRequests, "too many WebSocket connections for this user", kCapRetryAfter);
      observe(http_status(error.code()));
      co_await http::write_response(upgrade.stream, http::Response::error(error), false);
      co_return;
    }
  }

  // A malformed WebSocket handshake is answered 400 (426 for another
  // version) by the layer; checked here too, for the request metrics.
  auto& transport = *context.transport;
  bool valid = wsproto::accept_handshake(request.base(), transport.options().deflate).accepted;
  observe(valid ? 101 : 400);

  Stream stream = [&] {
    if constexpr (std::is_same_v<Stream, net::TlsStream>) {
      return std::move(upgrade.stream);
    } else {
      return upgrade.stream.release_socket();
    }
  }();
  auto strand = strand_of(stream.get_executor());
  if (!strand) {  // not expected: the HTTP server accepts every connection on a strand
    logger()->error("WebSocket connection not on a strand: closed");
    co_return;
  }
  auto session = std::make_shared<Session<Stream>>(context, *strand, principal, std::move(user_ticket),
                                                   std::move(*address_ticket), std::move(upgrade.slot));
  auto connection =
      std::make_shared<wsproto::Connection<Stream>>(std::move(stream), transport.options(), transport.wheel(), session);
  // The connection keeps itself (and the session) alive through its pending
  // operations; this coroutine ends here.
  connection->run(std::move(request.base()));
}

awaitable<void> serve(http::Upgrade upgrade, Context& context) {
  return serve_upgrade<asio::ip::tcp::socket>(std::move(upgrade), context);
}

awaitable<void> serve(http::TlsUpgrade upgrade, Context& context) {
  return serve_upgrade<net::TlsStream>(std::move(upgrade), context);
}

std::function<awaitable<void>(http::TlsUpgrade)> tls_upgrade_handler(Context& context) {
  return [&context](http::TlsUpgrade upgrade) { return serve(std::move(upgrade), context); };
}

}  // namespace parley::ws
