#include "push/push_service.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/validation.hpp"
#include "metrics/metrics.hpp"
#include "push/endpoint.hpp"
#include "realtime/hub.hpp"

namespace parley::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;

// A push service's answer is a status and perhaps a short error text:
// anything beyond these sizes is not a push service.
constexpr std::size_t kMaxResponseHeader = 8 * 1024;
constexpr std::size_t kMaxResponseBody = 16 * 1024;
// Code points of a message shown in a notification; the lock screen shows
// less, and it keeps the payload well under kMaxPlaintext.
constexpr std::size_t kPreviewChars = 140;
constexpr std::size_t kSenderChars = 64;

// The first `count` code points of valid UTF-8 `text`.
std::string truncate_utf8(std::string_view text, std::size_t count) {
  std::size_t i = 0;
  for (std::size_t chars = 0; i < text.size() && chars < count; ++chars) {
    auto c = static_cast<unsigned char>(text[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }
  return std::string(text.substr(0, std::min(i, text.size())));
}

enum class Outcome { kSent, kGone, kRetry, kFailed, kRefused };

struct Attempt {
  Outcome outcome = Outcome::kFailed;
  std::optional<std::chrono::seconds> retry_after;
  std::string detail;  // for the log
};

// Retry-After as delay-seconds (RFC 9110 §10.2.3). An HTTP-date is rare
// from push services; the backoff applies then.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace

struct PushService::Job {
  Job(PushService& s, storage::Message m, std::vector<storage::UserId> u)
      : service(s), message(std::move(m)), users(std::move(u)) {}
  ~Job() { service.queued_.fetch_sub(1); }
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  PushService& service;
  storage::Message message;
  std::vector<storage::UserId> users;
};

struct PushService::Delivery {
  std::shared_ptr<Job> job;  // holds the queue slot until the last attempt ends
  storage::PushSubscription subscription;
  Endpoint endpoint;
  std::string body;  // encrypted once; every attempt sends the same bytes
  std::string topic;
};

PushService::PushService(storage::Store& store, realtime::Hub& hub, metrics::Metrics& metrics,
                         const PushOptions& options, const std::filesystem::path& data_dir)
    : store_(store),
      hub_(hub),
      metrics_(metrics),
      options_(options),
      vapid_(VapidKey::load_or_create(data_dir / "push" / "vapid.pem")),
      work_(io_.get_executor()) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  tls->set_verify_mode(asio::ssl::verify_peer);
  if (options.ca_file.empty()) {
    tls->set_default_verify_paths();
  } else {
    tls->load_verify_file(options.ca_file.string());
  }
  tls_ = tls;
  if (options.enabled && options.subject.empty()) {
    log::get("push")->warn("push.subject is not set: push services may refuse or throttle pushes without a contact");
  }
}

PushService::~PushService() { stop(); }

void PushService::start() {
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "parley-push");
    io_.run();
  });
}

void PushService::stop() {
  if (stopped_.exchange(true)) return;
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void PushService::notify(const std::vector<storage::Event>& events) {
  if (!options_.enabled || stopped_) return;
  for (const auto& event : events) {
    // New messages only: an edit, reaction or receipt is not worth waking a
    // phone for.
    if (!event.message || event.content_of) continue;
    const auto& message = *event.message;
    std::vector<storage::UserId> offline;
    for (auto user : event.recipients) {
      if (user != message.sender_id && !hub_.online_anywhere(user)) offline.push_back(user);
    }
    if (offline.empty()) continue;
    if (queued_.fetch_add(1) >= options_.queue_limit) {
      queued_.fetch_sub(1);
      metrics_.observe_push("dropped");
      continue;
    }
    auto job = std::make_shared<Job>(*this, message, std::move(offline));
    asio::post(io_, [this, job] {
      try {
        run_job(job);
      } catch (const std::exception& e) {
        log::get("push")->error("push job failed message={} error=\"{}\"", job->message.id, e.what());
      }
    });
  }
}

namespace {

// One HTTPS POST to the push service, start to answer within the timeout.
awaitable<Attempt> post_once(asio::ssl::context& tls, const PushOptions& options, const VapidKey& vapid,
                             const Endpoint& endpoint, const std::string& body, const std::string& topic) {
  auto executor = co_await asio::this_coro::executor;
  Attempt result;
  try {
    asio::ip::tcp::resolver resolver(executor);
    auto resolved = co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port), use_awaitable);
    // Only the addresses checked here are connected to: a name cannot
    // resolve to a public address now and a private one on connect.
    std::vector<asio::ip::tcp::endpoint> allowed;
    for (const auto& entry : resolved) {
      if (options.allow_private_endpoints || !is_non_public(entry.endpoint().address())) {
        allowed.push_back(entry.endpoint());
      }
    }
    if (allowed.empty()) {
      result.outcome = Outcome::kRefused;
      result.detail = "the endpoint resolves to non-public addresses only";
      co_return result;
    }
    beast::ssl_stream<beast::tcp_stream> stream(executor, tls);
    boost::system::error_code ec;
    bool is_ip = (asio::ip::make_address(endpoint.host, ec), !ec);
    // SSL_set_tlsext_host_name, without the macro's C cast.
    if (!is_ip && SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(endpoint.host.c_str())) != 1) {
      result.detail = "cannot set SNI";
      co_return result;
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
    beast::get_lowest_layer(stream).expires_after(options.request_timeout);
    co_await beast::get_lowest_layer(stream).async_connect(allowed, use_awaitable);
    co_await stream.async_handshake(asio::ssl::stream_base::client, use_awaitable);

    http::request<http::string_body> request{http::verb::post, endpoint.target, 11};
    request.set(http::field::host, endpoint.origin.substr(std::string_view("https://").size()));
    request.set(http::field::user_agent, "parleyd");
    auto expires = std::chrono::system_clock::now() + std::chrono::hours(12);
    request.set(http::field::authorization, vapid.authorization(endpoint.origin, expires, options.subject));
    request.set("TTL", std::to_string(options.ttl.count()));
    request.set("Urgency", "normal");
    request.set("Topic", topic);
    request.set(http::field::content_encoding, "aes128gcm");
    request.set(http::field::content_type, "application/octet-stream");
    request.body() = body;
    request.prepare_payload();
    co_await http::async_write(stream, request, use_awaitable);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxResponseHeader);
    parser.body_limit(kMaxResponseBody);
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    const auto& response = parser.get();
    int status = static_cast<int>(response.result_int());
    result.detail = "status " + std::to_string(status);
    if (status == 200 || status == 201 || status == 202) {
      result.outcome = Outcome::kSent;
    } else if (status == 404 || status == 410) {
      result.outcome = Outcome::kGone;
    } else if (status == 429 || status >= 500) {
      result.outcome = Outcome::kRetry;
      if (auto it = response.find(http::field::retry_after); it != response.end()) {
        result.retry_after = parse_retry_after(it->value());
      }
    } else {
      result.outcome = Outcome::kFailed;  // 400, 403 (key mismatch), 413: retrying cannot help
    }
    beast::get_lowest_layer(stream).socket().close(ec);
  } catch (const boost::system::system_error& e) {
    // Unreachable, refused, timed out, a bad certificate: perhaps passing.
    result.outcome = Outcome::kRetry;
    result.detail = e.code().message();
  }
  co_return result;
}

}  // namespace

void PushService::run_job(const std::shared_ptr<Job>& job) {
  const auto& message = job->message;
  auto now = now_millis();
  auto sender = store_.read([&](storage::Transaction& tx) { return tx.user_by_id(message.sender_id); });
  auto conversation =
      store_.read([&](storage::Transaction& tx) { return tx.conversation_by_id(message.conversation_id); });
  if (!sender || !conversation) return;
  for (auto user_id : job->users) {
    struct Target {
      std::optional<storage::User> user;
      bool muted = false;
      storage::Seq read_seq = 0;
      std::vector<storage::PushSubscription> subscriptions;
    };
    auto target = store_.read([&](storage::Transaction& tx) {
      Target t;
      t.user = tx.user_by_id(user_id);
      if (!t.user || t.user->deleted || !t.user->notifications_enabled) return t;
      for (const auto& mute : tx.mutes(user_id)) {
        if (mute.conversation_id == message.conversation_id && mute.muted_until > now) t.muted = true;
      }
      if (t.muted) return t;
      auto member = tx.member(message.conversation_id, user_id);
      if (!member) return t;  // left since
      t.read_seq = member->read_seq;
      t.subscriptions = tx.push_subscriptions(user_id);
      return t;
    });
    if (target.subscriptions.empty()) continue;
    boost::json::object payload{
        {"type", "message.new"},
        {"conversation_id", message.conversation_id},
        {"message_id", message.id},
        {"seq", message.seq},
        {"sender", truncate_utf8(sender->display_name, kSenderChars)},
        {"unread", message.seq > target.read_seq ? message.seq - target.read_seq : 0},
        {"sent_at", message.created_at},
    };
    if (conversation->kind == storage::ConversationKind::kGroup) {
      payload["conversation_name"] = truncate_utf8(conversation->name, kSenderChars);
    }
    if (target.user->notification_previews) {
      if (!message.body.empty()) {
        payload["preview"] = truncate_utf8(message.body, kPreviewChars);
      } else if (message.sticker) {
        payload["preview"] = "Sticker";
      } else if (message.attachment_count > 0) {
        payload["preview"] = "Attachment";
      }
    }
    std::string plaintext = boost::json::serialize(payload);
    for (auto& subscription : target.subscriptions) {
      std::string reason;
      auto endpoint = parse_endpoint(subscription.endpoint, &reason);
      if (!endpoint) continue;  // checked when registered; the rules may have changed since
      auto delivery = std::make_shared<Delivery>();
      delivery->job = job;
      delivery->endpoint = *endpoint;
      delivery->topic = "c" + std::to_string(message.conversation_id);
      try {
        delivery->body = encrypt(plaintext, Receiver{subscription.p256dh, subscription.auth});
      } catch (const std::exception& e) {
        log::get("push")->warn("push not encrypted subscription={} error=\"{}\"", subscription.id, e.what());
        metrics_.observe_push("failed");
        continue;
      }
      delivery->subscription = std::move(subscription);
      asio::co_spawn(io_, deliver(delivery), asio::detached);
    }
  }
}

awaitable<void> PushService::deliver(std::shared_ptr<Delivery> d) {
  auto logger = log::get("push");
  auto& tls = *std::static_pointer_cast<asio::ssl::context>(tls_);
  auto delay = options_.retry_initial;
  for (unsigned attempt = 1;; ++attempt) {
    Attempt result = co_await post_once(tls, options_, vapid_, d->endpoint, d->body, d->topic);
    switch (result.outcome) {
      case Outcome::kSent:
        metrics_.observe_push("sent");
        logger->debug("push sent subscription={} message={}", d->subscription.id, d->job->message.id);
        co_return;
      case Outcome::kGone: {
        // The browser unsubscribed or the subscription expired (RFC 8030 §7.3).
        metrics_.observe_push("gone");
        auto id = d->subscription.id;
        // Logged once the deletion is committed, so that the log never
        // reports a subscription gone that is still listed.
        store_.submit_write([id](storage::Transaction& tx) { tx.delete_push_subscription_by_id(id); },
                            [logger, id, detail = std::move(result.detail)](std::exception_ptr error) {
                              if (error) {
                                logger->warn("push subscription not deleted subscription={}", id);
                              } else {
                                logger->info("push subscription gone subscription={} {}", id, detail);
                              }
                            });
        co_return;
      }
      case Outcome::kRefused:
        metrics_.observe_push("refused");
        logger->warn("push refused subscription={} reason=\"{}\"", d->subscription.id, result.detail);
        co_return;
      case Outcome::kFailed:
        metrics_.observe_push("failed");
        logger->warn("push failed subscription={} {}", d->subscription.id, result.detail);
        co_return;
      case Outcome::kRetry:
        break;
    }
    auto wait = result.retry_after.value_or(delay);
    if (attempt >= options_.max_attempts || wait > options_.retry_max) {
      metrics_.observe_push("failed");
      logger->warn("push failed subscription={} attempts={} {}", d->subscription.id, attempt, result.detail);
      co_return;
    }
    metrics_.observe_push("retried");
    logger->info("push retry subscription={} attempt={} in={}s {}", d->subscription.id, attempt, wait.count(),
                 result.detail);
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    co_await timer.async_wait(use_awaitable);
    delay = std::min(delay * 2, options_.retry_max);
  }
}

}  // namespace parley::push
