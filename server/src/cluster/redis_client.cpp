#include "cluster/redis_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include "core/log.hpp"

namespace parley::cluster {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

RedisReply convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (std::size_t i = 0; i < reply->elements; ++i) out.elements.push_back(convert(reply->element[i]));
      break;
    default: out.type = RedisReply::Type::kNil;
  }
  return out;
}

}  // namespace

RedisEndpoint RedisEndpoint::parse(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) throw std::invalid_argument("must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    // redis://:password@host or redis://user:password@host (the user is
    // ignored: Redis 7's default user).
    auto colon = auth.find(':');
    endpoint.password = std::string(colon == std::string_view::npos ? auth : auth.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view db;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) throw std::invalid_argument("no host");
  endpoint.host = std::string(rest);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      throw std::invalid_argument("port must be 1-65535");
    }
    endpoint.port = static_cast<std::uint16_t>(value);
  }
  if (!db.empty()) {
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), endpoint.db);
    if (ec != std::errc{} || end != db.data() + db.size() || endpoint.db < 0) {
      throw std::invalid_argument("database must be a number");
    }
  }
  return endpoint;
}

std::string RedisEndpoint::describe() const { return fmt::format("{}:{}", host, port); }

// --- RedisConnection -------------------------------------------------------

RedisConnection::~RedisConnection() { close(); }

void RedisConnection::close() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

bool RedisConnection::connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout, std::string& error) {
  close();
  context_ = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(timeout));
  if (context_ == nullptr || context_->err != 0) {
    error = context_ != nullptr ? context_->errstr : "out of memory";
    close();
    return false;
  }
  if (!set_timeout(timeout)) {
    error = last_error_;
    return false;
  }
  auto check = [&](const std::vector<std::string>& argv) {
    auto reply = command(argv);
    if (!reply) {
      error = last_error_;
      return false;
    }
    if (reply->type == RedisReply::Type::kError) {
      error = fmt::format("{}: {}", argv.front(), reply->str);
      close();
      return false;
    }
    return true;
  };
  if (!endpoint.password.empty() && !check({"AUTH", endpoint.password})) return false;
  if (endpoint.db != 0 && !check({"SELECT", std::to_string(endpoint.db)})) return false;
  return true;
}

bool RedisConnection::set_timeout(std::chrono::milliseconds timeout) {
  if (context_ == nullptr) return false;
  if (redisSetTimeout(context_, to_timeval(timeout)) != REDIS_OK) {
    last_error_ = context_->errstr;
    close();
    return false;
  }
  return true;
}

bool RedisConnection::append(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  args.reserve(argv.size());
  lengths.reserve(argv.size());
  for (const auto& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()) != REDIS_OK) {
    last_error_ = context_->errstr;
    close();
    return false;
  }
  return true;
}

bool RedisConnection::send(const std::vector<std::string>& argv) {
  if (context_ == nullptr || !append(argv)) return false;
  // Write the whole buffer now (redisGetReply would do it before reading).
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      last_error_ = context_->errstr;
      close();
      return false;
    }
  }
  return true;
}

std::optional<RedisReply> RedisConnection::command(const std::vector<std::string>& argv) {
  auto replies = pipeline({argv});
  if (!replies) return std::nullopt;
  return std::move(replies->front());
}

std::optional<std::vector<RedisReply>> RedisConnection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (context_ == nullptr) {
    last_error_ = "not connected";
    return std::nullopt;
  }
  for (const auto& argv : commands) {
    if (!append(argv)) return std::nullopt;
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    // A timeout here leaves the context in error: it is closed, and the
    // owner connects again (a reply arriving late must not be taken for
    // the next command's).
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      last_error_ = context_->errstr;
      close();
      return std::nullopt;
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(convert(reply));
    freeReplyObject(reply);
  }
  return replies;
}

bool RedisConnection::read_reply(bool& timed_out, const std::function<void(const redisReply&)>& use) {
  timed_out = false;
  if (context_ == nullptr) return false;
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      last_error_ = context_->errstr;
      close();
      return false;
    }
    if (raw != nullptr) {
      std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw), freeReplyObject);
      use(*reply);
      return true;
    }
    // One blocking recv(), bounded by the socket's receive timeout
    // (set_timeout: SO_RCVTIMEO), rather than poll() then hiredis' read():
    // one system call per wake-up instead of two. hiredis' own read would
    // mark the context dead on a timeout; here a timeout leaves it usable.
    if (read_buffer_.empty()) read_buffer_.resize(64 * 1024);
    auto got = ::recv(context_->fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      timed_out = true;
      return false;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      last_error_ = got == 0 ? "connection closed by redis" : fmt::format("recv: {}", std::strerror(errno));
      close();
      return false;
    }
    if (redisReaderFeed(context_->reader, read_buffer_.data(), static_cast<std::size_t>(got)) != REDIS_OK) {
      last_error_ = context_->reader->errstr;
      close();
      return false;
    }
  }
}

// --- Commander -------------------------------------------------------------

Commander::Commander(RedisEndpoint endpoint, std::size_t queue_limit, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), queue_limit_(queue_limit), timeout_(timeout) {}

Commander::~Commander() { stop(); }

void Commander::start() {
  thread_ = std::thread([this] { run(); });
}

void Commander::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Commander::submit(std::vector<std::string> argv, Callback done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_limit_) {
      dropped_.fetch_add(1);
      return false;
    }
    queue_.push_back(Item{std::move(argv), std::move(done)});
  }
  wake_.notify_one();
  return true;
}

void Commander::run() {
  auto logger = log::get("cluster");
  RedisConnection connection;
  Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
  auto next_attempt = std::chrono::steady_clock::now();
  bool was_down_logged = false;
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock lock(mutex_);
      if (!connection.connected() && !stopping_) {
        // Until the next attempt, only wait (and drop what comes: a
        // command that waited seconds is stale).
        wake_.wait_until(lock, next_attempt, [&] { return stopping_; });
      } else {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      }
      if (stopping_) return;
      // Everything waiting goes in one pipelined write.
      while (!queue_.empty() && batch.size() < 256) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!connection.connected()) {
      std::string error;
      if (connection.connect(endpoint_, timeout_, error)) {
        backoff.reset();
        connected_ = true;
        was_down_logged = false;
        logger->info("redis connected role=commands address={}", endpoint_.describe());
      } else {
        connected_ = false;
        if (!was_down_logged) logger->warn("redis unreachable role=commands address={} error=\"{}\"", endpoint_.describe(), error);
        was_down_logged = true;
        next_attempt = std::chrono::steady_clock::now() + backoff.next();
        dropped_.fetch_add(batch.size());
        for (auto& item : batch) {
          if (item.done) item.done(std::nullopt);
        }
        continue;
      }
    }
    if (batch.empty()) continue;
    std::vector<std::vector<std::string>> commands;
    commands.reserve(batch.size());
    for (auto& item : batch) commands.push_back(std::move(item.argv));
    auto replies = connection.pipeline(commands);
    if (!replies) {
      connected_ = false;
      logger->warn("redis connection lost role=commands address={} error=\"{}\"", endpoint_.describe(),
                   connection.last_error());
      was_down_logged = true;
      next_attempt = std::chrono::steady_clock::now() + backoff.next();
      dropped_.fetch_add(batch.size());
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(replies ? std::optional<RedisReply>((*replies)[i]) : std::nullopt);
    }
  }
}

// --- Subscriber ------------------------------------------------------------

Subscriber::Subscriber(RedisEndpoint endpoint, std::vector<std::string> channels, Handlers handlers,
                       std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), channels_(std::move(channels)), handlers_(std::move(handlers)),
      timeout_(timeout) {}

Subscriber::~Subscriber() { stop(); }

void Subscriber::start() {
  thread_ = std::thread([this] { run(); });
}

void Subscriber::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Subscriber::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void Subscriber::run() {
  auto logger = log::get("cluster");
  RedisConnection connection;
  Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
  bool was_down_logged = false;
  // A silent peer (a cut cable, a frozen Redis) shows no error: a PING after
  // this much quiet, and the connection is given up after twice as long.
  const auto quiet_limit = std::max(timeout_ * 5, std::chrono::milliseconds(1000));
  while (!stopping()) {
    std::string error;
    if (!connection.connect(endpoint_, timeout_, error)) {
      if (!was_down_logged) logger->warn("redis unreachable role=subscribe address={} error=\"{}\"", endpoint_.describe(), error);
      was_down_logged = true;
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff.next(), [&] { return stopping_; });
      continue;
    }
    std::vector<std::string> subscribe{"SUBSCRIBE"};
    subscribe.insert(subscribe.end(), channels_.begin(), channels_.end());
    if (!connection.send(subscribe)) {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff.next(), [&] { return stopping_; });
      continue;
    }
    std::size_t confirmed = 0;
    auto last_heard = std::chrono::steady_clock::now();
    bool ping_sent = false;
    bool up = false;
    // A reply: a message (channel, payload), handed on; a subscription's
    // confirmation (true); PING's answer.
    auto handle = [&](const redisReply& reply) {
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements == 0) return false;
      auto text = [&](std::size_t i) {
        const auto* element = reply.element[i];
        return element->type == REDIS_REPLY_STRING || element->type == REDIS_REPLY_STATUS
                   ? std::string_view(element->str, element->len)
                   : std::string_view();
      };
      auto kind = text(0);
      if (kind == "message" && reply.elements == 3) {
        if (handlers_.on_message) handlers_.on_message(text(1), text(2));
        return false;
      }
      return kind == "subscribe";
    };
    while (!stopping()) {
      bool timed_out = false;
      bool subscribed = false;
      bool read = connection.read_reply(timed_out, [&](const redisReply& reply) { subscribed = handle(reply); });
      auto now = std::chrono::steady_clock::now();
      if (!read && !timed_out) break;
      if (!read) {
        if (now - last_heard > 2 * quiet_limit) {
          logger->warn("redis silent, reconnecting role=subscribe address={}", endpoint_.describe());
          break;
        }
        if (now - last_heard > quiet_limit && !ping_sent) {
          if (!connection.send({"PING"})) break;
          ping_sent = true;
        }
        continue;
      }
      last_heard = now;
      ping_sent = false;
      if (subscribed) {
        if (++confirmed == channels_.size()) {
          up = true;
          connected_ = true;
          backoff.reset();
          was_down_logged = false;
          logger->info("redis connected role=subscribe address={}", endpoint_.describe());
          if (handlers_.on_up) handlers_.on_up();
        }
      }
    }
    connection.close();
    if (up) {
      connected_ = false;
      if (!stopping()) {
        logger->warn("redis connection lost role=subscribe address={}", endpoint_.describe());
        was_down_logged = true;
      }
      if (handlers_.on_down) handlers_.on_down();
    }
    if (stopping()) break;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, backoff.next(), [&] { return stopping_; });
  }
}

}  // namespace parley::cluster
