// The WebSocket side of the engine: connect, hello, catch-up, live events,
// replies; reconnect with backoff. docs/protocol.md is the contract.
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/serialize.hpp>

#include "engine/account_impl.hpp"
#include "rest/tls.hpp"

namespace parley {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::awaitable;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Sends in flight on one connection: well under the server's
// max_inflight_writes (64) and rate burst, so a long outbox never trips them.
constexpr std::size_t kSendWindow = 32;
// Live events held while a REST reload runs; beyond it the connection is
// dropped and the reload starts over (memory stays bounded).
constexpr std::size_t kMaxHeld = 20000;
constexpr std::size_t kCatchUpBatch = 1000;

// The session is over (close 4401/4403, HTTP 401 on the upgrade).
struct SignedOut {};

bool transient(Errc code) {
  return code == Errc::internal || code == Errc::too_many_requests || code == Errc::service_busy ||
         code == Errc::network || code == Errc::timeout;
}

}  // namespace

// One WebSocket connection, plain or over TLS (the stream type is the
// template's; the engine sees only this interface).
class WsConnection : public std::enable_shared_from_this<WsConnection> {
 public:
  virtual ~WsConnection() = default;
  std::deque<std::string> queue;
  bool writing = false;
  bool closed = false;
  bool synced = false;
  bool needs_reload = false;

  // TCP connect, TLS handshake (when TLS), WebSocket upgrade. Throws
  // Failure, or SignedOut for an HTTP 401 on the upgrade.
  virtual awaitable<void> open(const rest::Endpoint& endpoint, tcp::resolver::results_type addresses,
                               const std::string& token) = 0;
  virtual awaitable<std::tuple<boost::system::error_code, std::size_t>> read(beast::flat_buffer& buffer) = 0;
  [[nodiscard]] virtual bool got_text() const = 0;
  [[nodiscard]] virtual int close_code() const = 0;
  virtual void send(std::string text) = 0;
  virtual void close() = 0;
};

namespace {

template <typename Next>
class WsConnectionOn : public WsConnection {
 public:
  template <typename... Args>
  explicit WsConnectionOn(Args&&... args) : ws(std::forward<Args>(args)...) {}
  websocket::stream<Next> ws;

  awaitable<void> open(const rest::Endpoint& endpoint, tcp::resolver::results_type addresses,
                       const std::string& token) override {
    auto& tcp_stream = beast::get_lowest_layer(ws);
    tcp_stream.expires_after(std::chrono::seconds(10));
    auto [connect_error, connected] = co_await tcp_stream.async_connect(addresses, kNoThrow);
    (void)connected;
    if (closed) co_return;
    if (connect_error) throw Failure(Errc::network, connect_error.message());
    tcp_stream.expires_never();
    if constexpr (std::is_same_v<Next, rest::TlsStream>) {
      co_await rest::client_handshake(ws.next_layer(), endpoint.host, std::chrono::seconds(10));
      if (closed) co_return;
    }
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    // The server pings every 15 s; nothing at all for 60 s (about twice its
    // idle timeout) means the connection is dead. Beast also pings the
    // server when idle, and answers the server's pings by itself.
    timeouts.idle_timeout = std::chrono::seconds(60);
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.read_message_max(protocol::kMaxFrameBytes);
    const std::string authorization = "Bearer " + token;
    ws.set_option(websocket::stream_base::decorator([authorization](websocket::request_type& request) {
      request.set(beast::http::field::authorization, authorization);
      request.set(beast::http::field::user_agent, "libparley");
    }));
    websocket::response_type response;
    auto [handshake_error] = co_await ws.async_handshake(response, endpoint.host + ":" + endpoint.port, "/ws", kNoThrow);
    if (closed) co_return;
    if (handshake_error) {
      if (response.result_int() == 401) throw SignedOut{};
      throw Failure(Errc::network, "WebSocket upgrade: " + handshake_error.message());
    }
    ws.text(true);
  }

  awaitable<std::tuple<boost::system::error_code, std::size_t>> read(beast::flat_buffer& buffer) override {
    co_return co_await ws.async_read(buffer, kNoThrow);
  }
  [[nodiscard]] bool got_text() const override { return ws.got_text(); }
  [[nodiscard]] int close_code() const override { return ws.reason().code; }

  void send(std::string text) override {
    if (closed) return;
    queue.push_back(std::move(text));
    if (writing) return;
    writing = true;
    auto self = std::static_pointer_cast<WsConnectionOn>(shared_from_this());
    asio::co_spawn(
        ws.get_executor(),
        [self]() -> awaitable<void> {
          while (!self->queue.empty() && !self->closed) {
            auto [error, n] = co_await self->ws.async_write(asio::buffer(self->queue.front()), kNoThrow);
            (void)n;
            if (error) {
              self->close();
              break;
            }
            self->queue.pop_front();
          }
          self->writing = false;
        },
        asio::detached);
  }

  void close() override {
    if (closed) return;
    closed = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws).close();
  }
};

}  // namespace

void Account::Impl::start_connection() {
  if (connection_running || closed || token.empty()) return;
  connection_running = true;
  auto self = shared_from_this();
  asio::co_spawn(runtime.io, [self]() -> awaitable<void> { co_await self->connection_loop(); },
                 [self](std::exception_ptr) { self->connection_running = false; });
}

awaitable<void> Account::Impl::connection_loop() {
  auto self = shared_from_this();
  while (!closed && !token.empty()) {
    bool signed_out = false;
    try {
      co_await run_one_connection();
    } catch (const SignedOut&) {
      signed_out = true;
    } catch (const Failure& failure) {
      // A certificate that fails verification is reported at every attempt
      // (the app shows it); the engine keeps retrying with backoff, over
      // TLS only, in case the server's certificate is being replaced.
      const auto code = failure.error().code;
      if (!closed && (code == Errc::bad_response || code == Errc::bad_certificate)) emit_error(failure.error());
    } catch (const store::StoreError& error) {
      if (!closed) emit_error(Error{Errc::storage, error.what(), 0});
    } catch (const std::exception& error) {
      if (!closed) emit_error(Error{Errc::internal, error.what(), 0});
    }
    if (closed) co_return;
    on_disconnected();
    if (signed_out) {
      emit_error(Error{Errc::unauthorized, "the session ended: sign in again", 401});
      forget_session();
      co_return;
    }
    if (token.empty()) co_return;
    set_state(ConnectionState::offline);
    wake.expires_after(backoff.next());
    auto [error] = co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)error;  // cancelled by reconnect_now(): connect at once
  }
}

awaitable<void> Account::Impl::run_one_connection() {
  auto self = shared_from_this();
  std::shared_ptr<WsConnection> conn;
  if (endpoint.tls) {
    conn = std::make_shared<WsConnectionOn<rest::TlsStream>>(runtime.io, endpoint.tls->context);
  } else {
    conn = std::make_shared<WsConnectionOn<beast::tcp_stream>>(runtime.io);
  }
  connection = conn;
  set_state(ConnectionState::connecting);

  tcp::resolver resolver(runtime.io);
  auto [resolve_error, results] = co_await resolver.async_resolve(endpoint.host, endpoint.port, kNoThrow);
  if (closed || conn->closed) co_return;
  if (resolve_error) throw Failure(Errc::network, resolve_error.message());
  co_await conn->open(endpoint, results, token);
  if (closed || conn->closed) co_return;

  json::object hello{{"type", "hello"}};
  if (auto position = store->meta("position")) {
    hello["position"] = std::stoll(*position);
  } else {
    conn->needs_reload = true;  // a new device: no position, state over REST
  }
  set_state(ConnectionState::syncing);
  conn->send(json::serialize(hello));

  beast::flat_buffer buffer;
  while (true) {
    auto [read_error, n] = co_await conn->read(buffer);
    (void)n;
    if (closed || conn != connection) co_return;
    if (read_error) {
      if (read_error == websocket::error::closed) {
        const auto code = conn->close_code();
        if (code == 4401 || code == 4403) throw SignedOut{};
        throw Failure(Errc::network, "closed by the server (" + std::to_string(code) + ")");
      }
      throw Failure(Errc::network, read_error.message());
    }
    if (!conn->got_text()) throw Failure(Errc::bad_response, "the server sent a binary message");
    const auto text = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    json::object frame;
    try {
      frame = protocol::as_object(protocol::parse_json(text), "frame");
    } catch (const protocol::ProtocolError& error) {
      throw Failure(Errc::bad_response, std::string("unusable frame from the server: ") + error.what());
    }
    handle_frame(frame);
  }
}

void Account::Impl::on_disconnected() {
  online = false;
  if (connection) {
    connection->close();
    connection.reset();
  }
  inflight_sends.clear();
  inflight_reads.clear();
  catch_up.clear();
  held.clear();
  reloading = false;
  auto pending = std::move(replies);
  replies.clear();
  if (!closed) {
    for (auto& [ref, handler] : pending) {
      handler(nullptr);
    }
  }
}

void Account::Impl::handle_frame(const json::object& frame) {
  using namespace protocol;
  const auto* type_value = frame.if_contains("type");
  if (type_value == nullptr || !type_value->is_string()) throw Failure(Errc::bad_response, "a frame without type");
  const std::string type(type_value->get_string());
  try {
    if (type == "event") {
      const auto position = get_int(frame, "position");
      auto event = get_object(frame, "event");
      if (!connection->synced) {
        catch_up.emplace_back(position, std::move(event));
        if (catch_up.size() >= kCatchUpBatch) {
          apply_batch(catch_up);
          catch_up.clear();
        }
      } else if (reloading) {
        if (held.size() >= kMaxHeld) throw Failure(Errc::network, "too many events during the reload");
        held.emplace_back(position, std::move(event));
      } else {
        std::vector<std::pair<std::int64_t, json::object>> one;
        one.emplace_back(position, std::move(event));
        apply_batch(one);
      }
    } else if (type == "synced" || type == "resync_required") {
      const auto position = get_int(frame, "position");
      if (!catch_up.empty()) {
        apply_batch(catch_up);
        catch_up.clear();
      }
      connection->synced = true;
      if (type == "resync_required" || connection->needs_reload) {
        reloading = true;
        auto self = shared_from_this();
        auto conn = connection;
        spawn_detached([self, conn, position]() -> awaitable<void> {
          try {
            co_await self->reload(position);
          } catch (...) {
            // The reload failed (network): start over with a new connection.
            if (!self->closed && conn == self->connection) conn->close();
            throw;
          }
        });
      } else {
        {
          store::Store::Write write(*store);
          store->set_position(write, position);
          write.commit();
        }
        if (store->pending_loads().empty()) {
          go_online();
        } else {
          // Conversations joined while away (or whose load an earlier
          // process did not finish): loaded before the device says online.
          auto self = shared_from_this();
          auto conn = connection;
          spawn_detached([self, conn]() -> awaitable<void> {
            try {
              for (auto id : self->store->pending_loads()) {
                co_await self->load_conversation(id, true);
                if (self->closed || conn != self->connection) co_return;
              }
            } catch (...) {
              if (!self->closed && conn == self->connection) conn->close();
              throw;
            }
            self->go_online();
          });
        }
      }
    } else if (type == "welcome") {
      const auto user = get_int(frame, "user_id");
      if (me.load() == 0) me = user;
      if (const auto* limits = frame.if_contains("limits"); limits != nullptr && limits->is_object()) {
        // 80% of the session's rate and burst: typing and read frames share it.
        const auto& object = limits->get_object();
        const auto rate = get_optional_int(object, "frames_per_second").value_or(50);
        const auto burst = get_optional_int(object, "frame_burst").value_or(200);
        send_rate = std::max(1.0, static_cast<double>(rate) * 0.8);
        send_burst = std::max(1.0, static_cast<double>(burst) * 0.8);
        send_tokens = send_burst;
        tokens_at = std::chrono::steady_clock::now();
      }
    } else if (type == "ack") {
      const auto client_id = get_string(frame, "client_id");
      const auto conversation = get_int(frame, "conversation_id");
      {
        store::Store::Write write(*store);
        store->outbox_acked(write, client_id, get_int(frame, "message_id"), get_int(frame, "seq"),
                            get_int(frame, "created_at"), me.load());
        write.commit();
      }
      inflight_sends.erase(client_id);
      replies.erase("s:" + client_id);
      Changes changes;
      changes.conversations.push_back(conversation);
      changes.conversation_list = true;
      emit_changes(changes);
      flush_outbox();
    } else if (type == "ok" || type == "error" || type == "pong") {
      const auto ref = get_optional_string(frame, "ref");
      if (ref) {
        auto found = replies.find(*ref);
        if (found != replies.end()) {
          auto handler = std::move(found->second);
          replies.erase(found);
          handler(&frame);
          return;
        }
      }
      if (type == "error") {
        emit_error(parse_error(frame, 0));
      }
    } else if (type == "typing") {
      const auto conversation = get_int(frame, "conversation_id");
      const auto user = get_int(frame, "user_id");
      const auto expires = get_int(frame, "expires_in_ms");
      std::shared_ptr<Listener> target;
      {
        std::lock_guard lock(listeners_mutex);
        target = listener;
      }
      if (target) deliver([target, conversation, user, expires] { target->on_typing(conversation, user, expires); });
    } else if (type == "presence") {
      const auto user = get_int(frame, "user_id");
      const auto online_now = get_bool(frame, "online");
      const auto last_seen = get_optional_int(frame, "last_seen_at");
      std::shared_ptr<Listener> target;
      {
        std::lock_guard lock(listeners_mutex);
        target = listener;
      }
      if (target) deliver([target, user, online_now, last_seen] { target->on_presence(user, online_now, last_seen); });
    }
    // Other frame types: ignored (the server may add some).
  } catch (const ProtocolError& error) {
    throw Failure(Errc::bad_response, type + " frame: " + error.what());
  }
}

void Account::Impl::apply_batch(std::vector<std::pair<std::int64_t, json::object>>& batch) {
  if (batch.empty()) return;
  sync::Applied applied;
  try {
    store::Store::Write write(*store);
    for (const auto& [position, event] : batch) {
      try {
        sync::apply_event(write, event, me.load(), applied);
      } catch (const protocol::ProtocolError& error) {
        // Nothing of the batch is kept (the transaction rolls back), and
        // the position stays before it: the reconnect asks for it again.
        throw Failure(Errc::bad_response, "event at position " + std::to_string(position) + ": " + error.what());
      }
    }
    // Conversations to load are recorded with the position that passes
    // their event: if the process ends before the load, the next sync does it.
    store->add_pending_loads(write, applied.to_load);
    store->set_position(write, batch.back().first);
    write.commit();
  } catch (const std::out_of_range& error) {
    throw Failure(Errc::bad_response, std::string("event: ") + error.what());
  }
  after_apply(applied);
}

void Account::Impl::enforce_store_limit(Changes& changes) {
  // The store's bound: new history pushes the oldest out (down to 90% of
  // the limit, so that eviction runs in batches rather than per event).
  // History paged back in by load_older is exempt until the next batch.
  if (store->used_bytes() > options.store_limit_bytes) {
    store->evict_history(options.store_limit_bytes / 10 * 9, 50);
    changes.conversation_list = true;
  }
}

void Account::Impl::prefetch_thumbnails(const std::vector<Message>& messages) {
  // At most 4 at a time: a burst of images must not crowd out the app's own downloads.
  constexpr int kMaxInFlight = 4;
  if (!cache || token.empty()) return;
  for (const auto& message : messages) {
    for (const auto& attachment : message.attachments) {
      if (!attachment.content_type.starts_with("image/") || thumbnails_in_flight >= kMaxInFlight) continue;
      if (!media::valid_media_id(attachment.id) || cache->lookup(attachment.id + ".small")) continue;
      ++thumbnails_in_flight;
      auto self = shared_from_this();
      const auto id = attachment.id;
      asio::co_spawn(
          runtime.io,
          [self, id]() -> awaitable<void> {
            co_await self->fetch_media(id, Account::Variant::thumbnail_small, nullptr);
          },
          [self, id](std::exception_ptr failure) {
            --self->thumbnails_in_flight;
            // A failure is not worth an error report: the app's own download asks again.
            if (failure || self->closed) return;
            Changes changes;
            changes.thumbnails.push_back(id);
            self->emit_changes(changes);
          });
    }
  }
}

void Account::Impl::after_apply(sync::Applied& applied) {
  enforce_store_limit(applied.changes);
  prefetch_thumbnails(applied.changes.new_messages);
  emit_changes(applied.changes);
  notify_incoming(applied.incoming);
  if (!applied.read_moved.empty()) {
    std::shared_ptr<Notifier> target;
    {
      std::lock_guard lock(listeners_mutex);
      target = notifier;
    }
    if (target) {
      for (auto [conversation, seq] : applied.read_moved) {
        deliver([target, conversation = conversation, seq = seq] { target->withdraw(conversation, seq); });
      }
    }
  }
  // During a catch-up, the loads wait for `synced` (load_pending_then_go_online).
  if (online) {
    for (auto id : applied.to_load) {
      auto self = shared_from_this();
      spawn_detached([self, id]() -> awaitable<void> { co_await self->load_conversation(id, true); });
    }
  }
}

void Account::Impl::notify_incoming(const std::vector<Message>& messages) {
  if (messages.empty()) return;
  std::shared_ptr<Notifier> target;
  {
    std::lock_guard lock(listeners_mutex);
    target = notifier;
  }
  if (!target) return;
  if (store->meta("notifications_enabled").value_or("1") != "1") return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (const auto& message : messages) {
    if (message.created_at < now - options.catch_up_window_ms) continue;
    auto conversations = store->conversations(me.load(), message.conversation_id);
    if (conversations.empty()) continue;
    const auto& conversation = conversations.front();
    if (conversation.muted_until && *conversation.muted_until > now) continue;
    if (message.seq <= conversation.read_seq) continue;  // read on another device meanwhile
    Notification notification;
    notification.conversation_id = message.conversation_id;
    notification.message_id = message.id;
    notification.sender = store->user(message.sender_id).value_or(User{message.sender_id, "", "", "", {}, false});
    notification.group = conversation.kind == ConversationKind::group;
    notification.conversation_title =
        notification.group ? conversation.name
                           : (notification.sender.display_name.empty() ? notification.sender.username
                                                                       : notification.sender.display_name);
    std::string preview = message.text;
    if (preview.empty()) preview = message.sticker_id ? "[sticker]" : message.attachments.empty() ? "" : "[file]";
    if (preview.size() > 200) {
      std::size_t cut = 200;
      while (cut > 0 && (static_cast<unsigned char>(preview[cut]) & 0xc0) == 0x80) --cut;
      preview = preview.substr(0, cut) + "…";
    }
    notification.preview = std::move(preview);
    notification.mentions_me =
        std::find(message.mentions.begin(), message.mentions.end(), me.load()) != message.mentions.end();
    notification.created_at = message.created_at;
    deliver([target, notification] { target->notify(notification); });
  }
}

void Account::Impl::go_online() {
  online = true;
  backoff.reset();
  set_state(ConnectionState::online);
  flush_outbox();
  flush_reads();
  resume_uploads();
}

void Account::Impl::send_frame(json::object frame) {
  if (connection) connection->send(json::serialize(frame));
}

void Account::Impl::request_frame(json::object frame, Callback<Done> done) {
  if (!online || !connection) {
    complete<Done>(done, Error{Errc::network, "offline: try again when connected", 0});
    return;
  }
  const auto ref = "r:" + std::to_string(next_ref++);
  frame["ref"] = ref;
  replies[ref] = [this, done](const json::object* reply) {
    if (reply == nullptr) {
      complete<Done>(done, Error{Errc::network, "the connection was lost before the server answered", 0});
    } else if (reply->at("type").as_string() == "ok") {
      complete<Done>(done, Done{});
    } else {
      complete<Done>(done, protocol::parse_error(*reply, 0));
    }
  };
  send_frame(std::move(frame));
}

bool Account::Impl::take_token() {
  const auto now = std::chrono::steady_clock::now();
  send_tokens = std::min(send_burst, send_tokens + send_rate * std::chrono::duration<double>(now - tokens_at).count());
  tokens_at = now;
  if (send_tokens < 1) return false;
  send_tokens -= 1;
  return true;
}

void Account::Impl::flush_outbox() {
  if (!online || !connection || closed || sends_paused) return;
  for (auto& entry : store->outbox_pending()) {
    if (inflight_sends.size() >= kSendWindow) break;
    if (inflight_sends.contains(entry.client_id)) continue;
    if (!take_token()) {
      // Over the rate: go on when a token is back.
      sends_paused = true;
      retry.expires_after(std::chrono::milliseconds(static_cast<int>(1000 / send_rate) + 1));
      retry.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (e || self->closed) return;
        self->sends_paused = false;
        self->flush_outbox();
      });
      break;
    }
    json::object frame{{"type", "send"}, {"conversation_id", entry.conversation_id}, {"client_id", entry.client_id}};
    if (!entry.text.empty()) frame["text"] = entry.text;
    if (entry.reply_to) frame["reply_to"] = *entry.reply_to;
    if (entry.sticker_id) frame["sticker"] = *entry.sticker_id;
    if (!entry.attachments.empty()) {
      json::array attachments;
      for (const auto& attachment : entry.attachments) attachments.emplace_back(attachment.id);
      frame["attachments"] = std::move(attachments);
    }
    const auto ref = "s:" + entry.client_id;
    frame["ref"] = ref;
    inflight_sends.insert(entry.client_id);
    const auto client_id = entry.client_id;
    const auto conversation = entry.conversation_id;
    replies[ref] = [this, client_id, conversation](const json::object* reply) {
      inflight_sends.erase(client_id);
      if (reply == nullptr) return;  // resent on the next connection
      auto error = protocol::parse_error(*reply, 0);
      if (transient(error.code)) {
        // The outcome is unknown or the server is busy: the same client_id
        // goes again (a stored message answers duplicate, never twice).
        // Nothing more is sent for a second, so that a rate limit is not
        // hit again and again (21 refusals in a row end the connection).
        if (!sends_paused) {
          sends_paused = true;
          retry.expires_after(std::chrono::seconds(1));
          retry.async_wait([self = shared_from_this()](boost::system::error_code e) {
            if (e || self->closed) return;
            self->sends_paused = false;
            self->flush_outbox();
          });
        }
        return;
      }
      {
        store::Store::Write write(*store);
        store->outbox_failed(write, client_id, std::string(to_string(error.code)) + ": " + error.message);
        write.commit();
      }
      Changes changes;
      changes.conversations.push_back(conversation);
      emit_changes(changes);
    };
    send_frame(std::move(frame));
  }
}

void Account::Impl::flush_reads() {
  if (!online || !connection || closed) return;
  for (auto [conversation, seq] : store->pending_reads()) {
    if (inflight_reads.contains({conversation, seq})) continue;
    inflight_reads.insert({conversation, seq});
    const auto ref = "m:" + std::to_string(conversation) + ":" + std::to_string(seq);
    replies[ref] = [this, conversation = conversation, seq = seq](const json::object* reply) {
      inflight_reads.erase({conversation, seq});
      if (reply == nullptr) return;  // sent again on the next connection
      const auto type = reply->at("type").as_string();
      const bool gone = type == "error" && reply->contains("code") && reply->at("code").is_string() &&
                        reply->at("code").as_string() == "not_found";
      if (type == "ok" || gone) {
        store::Store::Write write(*store);
        store->pending_read_done(write, conversation, seq);
        write.commit();
      }
    };
    send_frame(json::object{{"type", "read"}, {"conversation_id", conversation}, {"seq", seq}, {"ref", ref}});
  }
}

}  // namespace parley
