#include "cluster/shared_counters.hpp"

#include "core/log.hpp"

namespace parley::cluster {
namespace {

std::string failures_key(const std::string& key) { return "parley:throttle:f:" + key; }
std::string block_key(const std::string& key) { return "parley:throttle:b:" + key; }

}  // namespace

SharedCounters::SharedCounters(RedisEndpoint endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

std::optional<std::vector<RedisReply>> SharedCounters::run(const std::vector<std::vector<std::string>>& commands) {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (!connection_.connected()) {
    if (now < retry_at_) return std::nullopt;
    std::string error;
    if (!connection_.connect(endpoint_, timeout_, error)) {
      retry_at_ = now + backoff_.next();
      log::get("cluster")->debug("shared counters unavailable error=\"{}\"", error);
      return std::nullopt;
    }
    backoff_.reset();
  }
  auto replies = connection_.pipeline(commands);
  if (!replies) retry_at_ = std::chrono::steady_clock::now() + backoff_.next();
  return replies;
}

std::optional<std::vector<unsigned>> SharedCounters::add_failures(const std::vector<std::string>& keys,
                                                                  std::chrono::milliseconds window) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& key : keys) {
    commands.push_back({"INCR", failures_key(key)});
    commands.push_back({"PEXPIRE", failures_key(key), std::to_string(window.count())});
  }
  auto replies = run(commands);
  if (!replies) return std::nullopt;
  std::vector<unsigned> counts;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& reply = (*replies)[2 * i];
    if (reply.type != RedisReply::Type::kInteger) return std::nullopt;
    counts.push_back(static_cast<unsigned>(reply.integer));
  }
  return counts;
}

void SharedCounters::block(const std::vector<std::pair<std::string, std::chrono::milliseconds>>& blocks) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& [key, duration] : blocks) {
    commands.push_back({"SET", block_key(key), "1", "PX", std::to_string(std::max<long long>(1, duration.count()))});
  }
  (void)run(commands);
}

std::optional<std::chrono::milliseconds> SharedCounters::blocked(const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& key : keys) commands.push_back({"PTTL", block_key(key)});
  auto replies = run(commands);
  if (!replies) return std::nullopt;
  long long longest = 0;
  // PTTL: -2 no key, -1 no expiry (never set by us), else milliseconds.
  for (const auto& reply : *replies) {
    if (reply.type == RedisReply::Type::kInteger) longest = std::max(longest, reply.integer);
  }
  return std::chrono::milliseconds(longest);
}

void SharedCounters::forget(const std::vector<std::string>& keys) {
  std::vector<std::string> del{"DEL"};
  for (const auto& key : keys) {
    del.push_back(failures_key(key));
    del.push_back(block_key(key));
  }
  (void)run({del});
}

}  // namespace parley::cluster
