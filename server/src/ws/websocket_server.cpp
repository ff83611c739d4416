#include "ws/websocket_server.hpp"

#include <algorithm>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

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
#include "realtime/hub.hpp"
#include "realtime/presence.hpp"
#include "storage/store.hpp"
#include "ws/connection_limits.hpp"
#include "ws/frame_handlers.hpp"

namespace parley::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using asio::awaitable;
using boost::json::object;
using storage::Position;
using storage::Transaction;
using Frame = std::shared_ptr<const std::string>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

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
// The first read of each frame asks for at most this much: enough for a
// typical chat frame in one read, and what an idle connection's pending read
// holds (Beast would otherwise prepare 1,536 bytes).
constexpr std::size_t kIdleReadBytes = 512;
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

// Over the bare socket, not Beast's tcp_stream: the WebSocket keeps its own
// timeouts (handshake, idle pings), so the tcp_stream's timers and its extra
// layer of composed operations on every frame would be spent for nothing.
// Over TLS, the SSL stream that carried the HTTP request carries on (its
// state cannot move to another stream); its tcp_stream's timer stays unset.
using PlainStream = websocket::stream<asio::ip::tcp::socket>;
using TlsWsStream = websocket::stream<net::TlsStream>;

// The TCP socket under a WebSocket, to cut it without a close handshake.
asio::ip::tcp::socket& tcp_socket(PlainStream& ws) { return ws.next_layer(); }
asio::ip::tcp::socket& tcp_socket(TlsWsStream& ws) { return beast::get_lowest_layer(ws).socket(); }

// The close code for a hello refused with `code` (docs/protocol.md).
std::uint16_t hello_close_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthorized:
      return realtime::close_code::kUnauthorized;
    case ErrorCode::kTooManyRequests:  // over the user's connection cap
      return realtime::close_code::kRateLimited;
    default:
      return static_cast<std::uint16_t>(websocket::close_code::policy_error);
  }
}

// A close frame's reason holds at most 123 bytes (RFC 6455, 5.5).
websocket::close_reason close_reason(std::uint16_t code, std::string_view text) {
  return websocket::close_reason(static_cast<websocket::close_code>(code), text.substr(0, 123));
}

// One connected device. Everything runs on the connection's strand; the
// Device methods post onto it.
//
// The catch-up is a coroutine; once it is done, the connection runs on
// completion handlers (one read and at most one write pending, each holding
// the session), so that an idle connection holds no coroutine frame and no
// timer of its own: with tens of thousands of connections, those would be
// most of the server's memory.
template <class Stream>
class Session final : public realtime::Device, public std::enable_shared_from_this<Session<Stream>> {
 public:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  // The tickets and the slot hold the connection's places in the caps for
  // as long as the session lives.
  Session(Stream ws, Context& context, auth::Principal principal, ConnectionLimits::UserTicket user_ticket,
          ConnectionLimits::AddressTicket address_ticket, std::shared_ptr<void> connection_slot)
      : ws_(std::move(ws)),
        context_(context),
        options_(context.options),
        principal_(principal),
        strand_(ws_.get_executor()),
        user_ticket_(std::move(user_ticket)),
        address_ticket_(std::move(address_ticket)),
        connection_slot_(std::move(connection_slot)),
        logger_(log::get("ws")) {}

  storage::UserId user_id() const override { return principal_.user_id; }
  storage::SessionId session_id() const override { return principal_.session_id; }

  void deliver_event(Position pos, Frame frame) override {
    asio::post(strand_, [self = shared_from_this(), pos, frame = std::move(frame)]() mutable {
      self->on_event(pos, std::move(frame));
    });
  }

  // A commit's events for this device: one post, not one per event.
  void deliver_events(EventFrames frames) override {
    asio::post(strand_, [self = shared_from_this(), frames = std::move(frames)]() mutable {
      for (auto& [pos, frame] : frames) self->on_event(pos, std::move(frame));
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

  // Catches up from `resume_from` (if given), then serves until the
  // connection ends.
  void start(std::optional<Position> resume_from) {
    asio::co_spawn(strand_, catch_up_then_serve(resume_from), asio::detached);
  }

 private:
  awaitable<void> catch_up_then_serve(std::optional<Position> resume_from) {
    auto self = shared_from_this();
    bool valid = false;
    try {
      // The session was checked at hello; a revocation committed since then
      // found no device to close. Checked again once the hub knows the
      // device, a revocation cannot slip between the two.
      valid = context_.hub.attach_checked(self, [this] { return session_still_exists(); });
    } catch (const std::exception& e) {
      logger_->error("session check failed user_id={} error=\"{}\"", user_id(), e.what());
      begin_close(websocket::close_code::internal_error, "internal error");
    }
    if (!valid) {
      begin_close(realtime::close_code::kSessionRevoked, "session revoked");
      serving_ = true;
      write_next();
      read_next();
      co_return;
    }
    try {
      co_await catch_up(resume_from);
    } catch (const boost::system::system_error& e) {
      // The connection went away while catching up: it will resume later.
      logger_->debug("connection ended during catch-up user_id={} reason=\"{}\"", user_id(), e.what());
      dead_ = true;
    } catch (const std::exception& e) {
      logger_->error("catch-up failed user_id={} error=\"{}\"", user_id(), e.what());
      begin_close(websocket::close_code::internal_error, "internal error");
    }
    serving_ = true;
    write_next();
    read_next();
  }

  bool session_still_exists() {
    auto user = user_id();
    auto session = session_id();
    return context_.services.store.read([&](Transaction& tx) {
      auto sessions = tx.sessions(user);
      return std::any_of(sessions.begin(), sessions.end(), [&](const auto& s) { return s.id == session; });
    });
  }

  // The read side ended (closed, failed, timed out or cut): the connection
  // is over. Runs once; pending handlers then find the session dead.
  void connection_over() {
    dead_ = true;
    clear_outbox();
    context_.hub.detach(*this);
    // A device that only uses the WebSocket still counts as using its
    // session: record when it was last connected.
    auto session = session_id();
    context_.services.store.submit_write(
        [session](Transaction& tx) { tx.touch_session(session, now_millis()); }, [](std::exception_ptr) {});
  }

  awaitable<void> send_now(const Frame& frame) {
    auto [ec, n] = co_await ws_.async_write(asio::buffer(*frame), kTuple);
    if (ec) throw boost::system::system_error(ec);
  }

  // Built outside the coroutine: GCC 12 miscompiles some braced
  // initialisations inside coroutines.
  Frame welcome_frame() {
    object welcome{{"type", "welcome"},
                   {"user_id", user_id()},
                   {"session_id", session_id()},
                   {"presence", context_.presence.visible_to(user_id())},
                   {"limits",
                    object{{"max_frame_bytes", options_.max_frame_bytes},
                           {"frames_per_second", options_.frames_per_second},
                           {"frame_burst", options_.frame_burst},
                           {"user_frames_per_second", options_.user_frames_per_second},
                           {"user_frame_burst", options_.user_frame_burst},
                           {"max_connections_per_user", options_.max_connections_per_user},
                           {"idle_timeout_ms", options_.idle_timeout.count() * 1000}}}};
    return make_frame(welcome);
  }

  static Frame position_frame(std::string_view type, Position pos) {
    return make_frame(object{{"type", type}, {"position", pos}});
  }

  awaitable<void> catch_up(std::optional<Position> from) {
    auto& store = context_.services.store;
    co_await send_now(welcome_frame());

    std::vector<Transaction::StreamItem> items;
    Position current = 0;
    if (from) {
      items = store.read([&](Transaction& tx) {
        auto found = tx.stream_since(user_id(), *from, options_.max_resume_events + 1);
        current = tx.current_position();
        return found;
      });
    } else {
      current = store.read([](Transaction& tx) { return tx.current_position(); });
    }
    if (!items.empty()) current = std::max(current, items.back().pos);

    if (from && (*from > current || items.size() > options_.max_resume_events)) {
      // Too far behind (or ahead of this server): page history instead.
      last_pos_ = current;
      co_await send_now(position_frame("resync_required", current));
    } else {
      last_pos_ = from.value_or(current);
      for (const auto& item : items) {
        auto payload = item.payload ? item.payload : events::message_payload(*item.message);
        co_await send_now(realtime::Hub::event_frame(item.pos, *payload));
        last_pos_ = item.pos;
      }
      co_await send_now(position_frame("synced", last_pos_));
    }
    synced_ = true;
    // What arrived live while catching up, minus what the catch-up covered.
    for (auto& [pos, frame] : pending_) {
      if (pos <= last_pos_) continue;
      last_pos_ = pos;
      enqueue(std::move(frame));
    }
    pending_ = {};
    pending_bytes_ = 0;
  }

  // One committed event, on the strand.
  void on_event(Position pos, Frame frame) {
    if (!synced_) {
      pending_bytes_ += frame->size();
      pending_.emplace_back(pos, std::move(frame));
      if (pending_bytes_ > options_.max_outbound_bytes * kBurstFactor) drop_too_slow();
      return;
    }
    if (pos <= last_pos_) return;  // already sent while catching up
    last_pos_ = pos;
    enqueue(std::move(frame));
  }

  void enqueue(Frame frame) {
    if (dead_ || closing_) return;
    outbox_bytes_ += frame->size();
    outbox_.push_back(std::move(frame));
    if (outbox_bytes_ > options_.max_outbound_bytes) {
      bool stalled = write_pending_ && std::chrono::steady_clock::now() - write_started_ > kStallTime;
      if (stalled || outbox_bytes_ > options_.max_outbound_bytes * kBurstFactor) {
        drop_too_slow();
        return;
      }
    }
    write_next();
  }

  // Empties the queue, giving back the memory a burst made it take.
  void clear_outbox() {
    outbox_bytes_ = 0;
    outbox_head_ = 0;
    if (outbox_.capacity() > 64) {
      outbox_ = {};
    } else {
      outbox_.clear();
    }
  }

  // The peer does not read fast enough: cut the connection (no close frame
  // can get through a full socket). The device resumes when it reconnects.
  void drop_too_slow() {
    if (dead_) return;
    dead_ = true;
    logger_->info("disconnecting slow consumer user_id={} session_id={} queued_bytes={}", user_id(), session_id(),
                  outbox_bytes_ + pending_bytes_);
    clear_outbox();
    pending_ = {};
    beast::error_code ignored;
    tcp_socket(ws_).shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp_socket(ws_).close(ignored);
    resume_reading();  // a paused reader must see the end too
  }

  void begin_close(std::uint16_t code, std::string reason) {
    if (closing_ || dead_) return;
    closing_ = true;
    close_reason_ = close_reason(code, reason);
    clear_outbox();
    write_next();
  }

  // Starts writing the next queued frame, unless a write is under way; with
  // the queue empty after a close began, sends the close frame.
  void write_next() {
    if (!serving_ || write_pending_ || dead_) return;
    if (outbox_head_ == outbox_.size()) {
      clear_outbox();
      if (closing_ && !close_sent_ && ws_.is_open()) {
        close_sent_ = true;
        ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {});
      }
      return;
    }
    Frame frame = std::move(outbox_[outbox_head_++]);
    outbox_bytes_ -= frame->size();
    write_pending_ = true;
    write_started_ = std::chrono::steady_clock::now();
    auto buffer = asio::buffer(*frame);
    ws_.async_write(buffer, [self = shared_from_this(), frame = std::move(frame)](beast::error_code ec, std::size_t) {
      self->write_pending_ = false;
      if (ec) {
        self->dead_ = true;  // the read side ends too, and ends the connection
        self->clear_outbox();
        self->resume_reading();
        return;
      }
      self->write_next();
    });
  }

  // Reads the next frame, unless too many of this connection's writes are
  // waiting for the database (backpressure: the client's frames then wait
  // in the socket).
  void read_next() {
    if (inflight_ >= options_.max_inflight_writes && !dead_) {
      read_paused_ = true;
      return;
    }
    read_more(kIdleReadBytes);
  }

  // Reads into read_buffer_, at most `limit` bytes (0: as much as Beast
  // thinks fit). The first read of a message is small: its buffer is
  // allocated while the read waits, which for an idle connection is always.
  void read_more(std::size_t limit) {
    ws_.async_read_some(read_buffer_, limit,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void resume_reading() {
    if (!read_paused_) return;
    read_paused_ = false;
    read_next();
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec != websocket::error::closed && ec != asio::error::operation_aborted && ec != asio::error::eof) {
        logger_->debug("connection ended user_id={} reason=\"{}\"", user_id(), ec.message());
      }
      connection_over();
      return;
    }
    if (!ws_.is_message_done()) {
      read_more(0);  // the rest of a message larger than the first read
      return;
    }
    if (!closing_ && !dead_) receive();  // else draining until the close handshake ends
    if (read_buffer_.capacity() > kIdleReadBytes) {
      read_buffer_ = beast::flat_buffer();  // a big frame's memory goes back
    } else {
      read_buffer_.clear();
    }
    read_next();
  }

  // One frame read from the client.
  void receive() {
    if (!ws_.got_text()) {
      begin_close(realtime::close_code::kUnsupportedData, "binary frames are not supported");
      return;
    }
    // Budgets shared with the user's and the session's other connections:
    // more sockets bring no more frames.
    if (!user_ticket_.allow_frame()) {
      if (++refusals_ > kMaxRefusals) {
        begin_close(realtime::close_code::kRateLimited, "rate limit exceeded");
      } else {
        enqueue(error_frame(std::nullopt, ErrorCode::kTooManyRequests, "frame rate limit exceeded; frame dropped"));
      }
      return;
    }
    refusals_ = 0;
    // The whole message is in the buffer, contiguous: read in place.
    auto data = read_buffer_.data();
    handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
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
        });
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

  // Queues a write; `reply` builds the answer after its commit.
  template <typename Body, typename Reply>
  void submit(const std::optional<std::string>& ref, Body body, Reply reply) {
    ++inflight_;
    auto self = shared_from_this();
    context_.services.store.submit_write(std::move(body), [self, ref, reply](std::exception_ptr error) {
      // On the writer's thread, which commits nothing else meanwhile: the
      // answer is built on the connection's strand.
      asio::post(self->strand_, [self, ref, reply, error] {
        --self->inflight_;
        self->enqueue(error ? error_frame(ref, error) : reply());
        self->resume_reading();
      });
    });
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
    // Membership first, so that a non-member is told not_found every time.
    auto members = context_.services.store.read([&](Transaction& tx) {
      messaging::require_member(tx, conversation, user_id());
      return tx.member_ids(conversation);
    });
    auto now = std::chrono::steady_clock::now();
    if (last_typing_.size() > 256) last_typing_.clear();  // bounded; only throttling state is lost
    auto& last = last_typing_[conversation];
    if (now - last < kTypingInterval) return;  // throttled: silently dropped
    last = now;
    // Members' devices on other nodes too (ephemeral: over the cluster
    // bus when there is one, never stored).
    context_.hub.send_to_users_everywhere(members,
                                          make_frame(object{{"type", "typing"},
                                                            {"conversation_id", conversation},
                                                            {"user_id", user_id()},
                                                            {"expires_in_ms", kTypingExpiresMs}}),
                                          user_id());
  }

  Stream ws_;
  Context& context_;
  const WebSocketOptions& options_;
  auth::Principal principal_;
  asio::any_io_executor strand_;
  ConnectionLimits::UserTicket user_ticket_;
  ConnectionLimits::AddressTicket address_ticket_;
  std::shared_ptr<void> connection_slot_;  // the place in http.max_connections
  std::shared_ptr<spdlog::logger> logger_;

  bool synced_ = false;
  Position last_pos_ = 0;  // the newest position queued for the device
  std::vector<std::pair<Position, Frame>> pending_;  // live events held while catching up
  std::size_t pending_bytes_ = 0;
  // A vector used as a queue (head_ is the next to send): an empty
  // std::deque would still hold a 512-byte block per idle connection.
  std::vector<Frame> outbox_;
  std::size_t outbox_head_ = 0;
  std::size_t outbox_bytes_ = 0;
  beast::flat_buffer read_buffer_;
  bool serving_ = false;        // caught up: frames are written from the outbox
  bool read_paused_ = false;    // by backpressure, until a database write completes
  bool write_pending_ = false;  // a frame is being handed to the socket
  std::chrono::steady_clock::time_point write_started_;
  bool closing_ = false;
  bool close_sent_ = false;
  bool dead_ = false;
  websocket::close_reason close_reason_;
  unsigned inflight_ = 0;
  int refusals_ = 0;
  std::unordered_map<storage::ConversationId, std::chrono::steady_clock::time_point> last_typing_;
};

}  // namespace

template <class Stream, class Upgrade>
awaitable<void> serve_upgrade(Upgrade upgrade, Context& context) {
  auto logger = log::get("ws");
  const auto& options = context.options;
  auto& request = upgrade.request;
  auto observe = [&](int status) {
    context.services.metrics.observe_request("GET", upgrade.route, status,
                                             std::chrono::steady_clock::now() - upgrade.started);
  };

  if (!origin_allowed(request[beast::http::field::origin], request[beast::http::field::host],
                      options.allowed_origins)) {
    observe(http_status(ErrorCode::kForbidden));
    co_await http::write_response(
        upgrade.stream, http::Response::error(ApiError(ErrorCode::kForbidden, "origin not allowed")), false);
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
      logger->error("upgrade authentication failed error=\"{}\"", e.what());
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

  Stream ws = [&] {
    if constexpr (std::is_same_v<Stream, TlsWsStream>) {
      return Stream(std::move(upgrade.stream));
    } else {
      return Stream(upgrade.stream.release_socket());
    }
  }();
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = options.handshake_timeout;
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  websocket::permessage_deflate deflate;
  deflate.server_enable = true;
  if constexpr (std::is_same_v<Stream, TlsWsStream>) {
    // Each frame compressed on its own: with a shared window, text a peer
    // gets into this connection's frames (a message it sends) could be
    // compared with earlier frames' text through the encrypted sizes (a
    // CRIME-style oracle). Plain connections have no encryption to break.
    deflate.server_no_context_takeover = true;
  }
  ws.set_option(deflate);
  // Applies to the inflated size too, so a compressed bomb is refused.
  ws.read_message_max(options.max_frame_bytes);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(beast::http::field::server, "parleyd"); }));
  auto [accept_ec] = co_await ws.async_accept(request, kTuple);
  // Beast answers a malformed handshake with 400 itself.
  observe(accept_ec ? 400 : 101);
  if (accept_ec) co_return;
  request = {};  // the upgrade request is not needed any more

  // The hello frame, within the handshake timeout.
  asio::steady_timer hello_deadline(ws.get_executor(), options.handshake_timeout);
  bool hello_received = false;
  hello_deadline.async_wait([&](boost::system::error_code ec) {
    // A close may be started while a read is pending; the read then ends.
    if (!ec && !hello_received) {
      ws.async_close(close_reason(realtime::close_code::kHelloTimeout, "no hello in time"),
                     [](boost::system::error_code) {});
    }
  });
  beast::flat_buffer buffer;
  auto [read_ec, n] = co_await ws.async_read(buffer, kTuple);
  hello_received = true;
  hello_deadline.cancel();
  if (read_ec) {
    logger->debug("no hello remote={} reason=\"{}\"", upgrade.remote_address, read_ec.message());
    co_return;
  }

  Hello hello;
  std::optional<websocket::close_reason> refusal;
  std::string hello_text = beast::buffers_to_string(buffer.data());
  buffer = beast::flat_buffer();  // nor is its buffer, for the connection's life
  try {
    hello = parse_hello(hello_text);
    if (!principal) {
      if (!hello.token) throw ApiError(ErrorCode::kUnauthorized, "hello: token is required");
      principal = co_await context.services.authenticator.authenticate_token(*hello.token);
    }
    if (!user_ticket) {
      user_ticket = context.limits.admit_user(principal->user_id, principal->session_id);
      if (!user_ticket) throw ApiError(ErrorCode::kTooManyRequests, "too many connections for this user");
    }
  } catch (const ApiError& e) {
    refusal = close_reason(hello_close_code(e.code()), e.what());
  } catch (const std::exception& e) {
    logger->error("hello failed error=\"{}\"", e.what());
    refusal = close_reason(static_cast<std::uint16_t>(websocket::close_code::internal_error), "internal error");
  }
  if (refusal) {
    co_await ws.async_close(*refusal, kTuple);
    co_return;
  }

  auto session = std::make_shared<Session<Stream>>(std::move(ws), context, *principal, std::move(*user_ticket),
                                                   std::move(*address_ticket), std::move(upgrade.slot));
  logger->debug("connected user_id={} session_id={}", principal->user_id, principal->session_id);
  // The session keeps itself alive through its pending operations; this
  // coroutine (and everything it held for the handshake) ends here.
  session->start(hello.position);
}


awaitable<void> serve(http::Upgrade upgrade, Context& context) {
  return serve_upgrade<PlainStream>(std::move(upgrade), context);
}

awaitable<void> serve(http::TlsUpgrade upgrade, Context& context) {
  return serve_upgrade<TlsWsStream>(std::move(upgrade), context);
}

std::function<awaitable<void>(http::TlsUpgrade)> tls_upgrade_handler(Context& context) {
  return [&context](http::TlsUpgrade upgrade) { return serve(std::move(upgrade), context); };
}

}  // namespace parley::ws
