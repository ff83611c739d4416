// The state behind one Account. Everything here runs on the Runtime's one
// engine thread, except what the public reads and send_text touch: the
// store (which has its own locks), `state_`, and the listener pointers
// (under `listeners_mutex_`).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "media/cache.hpp"
#include "parley/account.hpp"
#include "rest/http.hpp"
#include "store/store.hpp"
#include "sync/apply.hpp"
#include "ws/backoff.hpp"

namespace parley {

struct Runtime::Impl {
  Impl();
  ~Impl();
  boost::asio::io_context io;
  std::thread thread;
  // Runs `task` on the engine thread; when already on it, at once.
  void run(std::function<void()> task);
};

class WsConnection;

struct Account::Impl : std::enable_shared_from_this<Account::Impl> {
  Impl(Runtime::Impl& runtime, AccountOptions options, rest::Endpoint endpoint, int lock_fd);
  ~Impl();

  // --- any thread ---------------------------------------------------------
  Runtime::Impl& runtime;
  const AccountOptions options;
  const rest::Endpoint endpoint;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<media::Cache> cache;
  std::atomic<ConnectionState> state{ConnectionState::signed_out};
  std::atomic<UserId> me{0};
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);

  std::mutex listeners_mutex;
  std::shared_ptr<Listener> listener;
  std::shared_ptr<Notifier> notifier;

  // Hands `task` to the app (through options.deliver, or here). Dropped
  // once the Account is destroyed.
  void deliver(std::function<void()> task);
  template <typename T>
  void complete(const Callback<T>& done, Result<T> result) {
    if (!done) return;
    deliver([done, result = std::move(result)]() mutable { done(std::move(result)); });
  }
  void emit_changes(const Changes& changes);
  void emit_error(const Error& error);
  void set_state(ConnectionState next);

  // --- engine thread ---------------------------------------------------------
  bool closed = false;
  int lock_fd = -1;
  std::string token;
  std::string two_factor_challenge;
  ws::Backoff backoff;
  boost::asio::steady_timer wake;       // the backoff wait; reconnect_now() cancels it
  boost::asio::steady_timer retry;      // outbox retry after a transient refusal
  bool sends_paused = false;            // until `retry` fires: the server asked to slow down
  // A client-side token bucket under the server's per-session frame rate
  // (welcome.limits): the outbox never sends faster than the server
  // accepts, so sends are not refused, and so not reordered by a retry.
  double send_rate = 40, send_burst = 160, send_tokens = 160;
  std::chrono::steady_clock::time_point tokens_at = std::chrono::steady_clock::now();
  bool take_token();
  bool connection_running = false;
  std::shared_ptr<WsConnection> connection;  // while connected
  bool online = false;                  // synced, and not reloading
  bool reloading = false;
  std::vector<std::pair<std::int64_t, boost::json::object>> held;  // live events during a reload
  std::vector<std::pair<std::int64_t, boost::json::object>> catch_up;  // catch-up events not yet applied
  std::set<std::string> inflight_sends;  // client ids sent on this connection, not yet acked
  std::set<std::pair<ConversationId, std::int64_t>> inflight_reads;
  // Reply handlers by ref; called with nullptr when the connection is lost first.
  std::map<std::string, std::function<void(const boost::json::object*)>> replies;
  std::int64_t next_ref = 1;

  void shutdown();
  void start_connection();
  boost::asio::awaitable<void> connection_loop();
  boost::asio::awaitable<void> run_one_connection();
  void handle_frame(const boost::json::object& frame);
  void on_disconnected();
  // Applies events in one transaction with their last position; throws
  // Failure(bad_response) (nothing applied) for a malformed event.
  void apply_batch(std::vector<std::pair<std::int64_t, boost::json::object>>& batch);
  void after_apply(sync::Applied& applied);
  void notify_incoming(const std::vector<Message>& messages);
  void go_online();
  boost::asio::awaitable<void> reload(std::optional<std::int64_t> position);
  boost::asio::awaitable<void> load_conversation(ConversationId id, bool with_history);
  boost::asio::awaitable<bool> fetch_history_after(ConversationId id);
  void flush_outbox();
  void flush_reads();
  void send_frame(boost::json::object frame);
  // Sends a frame that gets ok/error and hands the result to `done`.
  void request_frame(boost::json::object frame, Callback<Done> done);

  // REST: the reply parsed as JSON; a non-2xx status throws its Failure.
  boost::asio::awaitable<boost::json::value> rest(const std::string& method, const std::string& target,
                                                  const boost::json::value* body = nullptr, bool authorized = true);
  // Runs `body` on the engine thread as a coroutine; its result or Failure
  // goes to `done`.
  template <typename T, typename F>
  void spawn(Callback<T> done, F body);
  void spawn_detached(std::function<boost::asio::awaitable<void>()> body);

  // Uploads the recorded file (continuing the server's upload when the file
  // is unchanged, from zero otherwise), then queues its message and forgets
  // the record in one transaction. Returns the message's client id.
  boost::asio::awaitable<std::string> send_upload(store::UploadRecord record, std::function<void(Progress)> progress);
  // The uploaded file as the server described it (its media id, name, ...).
  boost::asio::awaitable<Attachment> upload(store::UploadRecord& record, std::function<void(Progress)> progress);
  // The cached file, or downloaded into the cache (docs/client.md "Media").
  boost::asio::awaitable<std::filesystem::path> fetch_media(const MediaId& media, Account::Variant variant,
                                                            std::function<void(Progress)> progress);
  // The cached file under `key`, or `target` downloaded into the cache
  // (refused past `cap` bytes). Media and sticker images both come here.
  boost::asio::awaitable<std::filesystem::path> fetch_to_cache(std::string key, std::string target, std::int64_t cap,
                                                               std::function<void(Progress)> progress);
  // Thumbnails first: the small thumbnail of each image that arrives is
  // fetched into the cache at once (the original only when asked for), so
  // that history shows images offline.
  void prefetch_thumbnails(const std::vector<Message>& messages);
  int thumbnails_in_flight = 0;
  // The store's size limit: evicts the oldest history when over it.
  void enforce_store_limit(Changes& changes);
  // Continues the uploads recorded by an earlier run (when online).
  void resume_uploads();
  std::set<std::string> active_uploads;  // client ids of uploads running in this process
  void forget_session();
  void wipe_data();
};

}  // namespace parley

// --- template definitions ------------------------------------------------------

#include <boost/asio/co_spawn.hpp>

#include "engine/failure.hpp"
#include "protocol/model.hpp"

namespace parley {

// The Error of whatever a coroutine of the engine threw.
Error error_of(std::exception_ptr exception);

template <typename T, typename F>
void Account::Impl::spawn(Callback<T> done, F body) {
  auto self = shared_from_this();
  runtime.run([self, done = std::move(done), body = std::move(body)]() mutable {
    if (self->closed) return;  // the Account is gone: no callback after its destructor
    boost::asio::co_spawn(
        self->runtime.io, [body = std::move(body)]() mutable -> boost::asio::awaitable<T> { co_return co_await body(); },
        [self, done = std::move(done)](std::exception_ptr exception, T value) {
          if (self->closed) return;
          if (exception) {
            self->complete<T>(done, error_of(exception));
          } else {
            self->complete<T>(done, std::move(value));
          }
        });
  });
}

}  // namespace parley
