#include "setup.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace parley::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::json::object;
using Clock = std::chrono::steady_clock;

struct Reply {
  int status = 0;
  boost::json::value body;

  [[nodiscard]] std::string error_code() const {
    if (!body.is_object()) return "";
    const auto* error = body.as_object().if_contains("error");
    if (error == nullptr || !error->is_object()) return "";
    const auto* code = error->as_object().if_contains("code");
    return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
  }
};

// One keep-alive HTTP/1.1 connection, reopened when the server closes it.
// Not thread-safe: one per setup thread.
class RestClient {
 public:
  RestClient(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port), stream_(io_) {}

  // POSTs `body` as JSON. Retries when the server is busy (429, 503) or the
  // connection broke; returns any other answer, success or not.
  Reply post(const std::string& target, const object& body, const std::string& token = "") {
    std::string text = boost::json::serialize(body);
    for (int attempt = 1;; ++attempt) {
      try {
        Reply reply = exchange(target, text, token);
        if ((reply.status == 429 || reply.status == 503) && attempt < 20) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
          continue;
        }
        return reply;
      } catch (const std::exception& e) {
        close();
        if (attempt >= 5) throw std::runtime_error(fmt::format("POST {}: {}", target, e.what()));
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      }
    }
  }

 private:
  Reply exchange(const std::string& target, const std::string& body, const std::string& token) {
    if (!open_) {
      stream_.expires_after(std::chrono::seconds(30));
      stream_.connect(tcp::endpoint(asio::ip::make_address(host_), port_));
      open_ = true;
    }
    http::request<http::string_body> request(http::verb::post, target, 11);
    request.set(http::field::host, fmt::format("{}:{}", host_, port_));
    request.set(http::field::user_agent, "parley-bench");
    request.set(http::field::content_type, "application/json");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    request.body() = body;
    request.keep_alive(true);
    request.prepare_payload();
    stream_.expires_after(std::chrono::seconds(60));
    http::write(stream_, request);
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 << 20);
    http::read(stream_, buffer_, parser);
    auto& response = parser.get();
    Reply reply;
    reply.status = static_cast<int>(response.result_int());
    boost::system::error_code ec;
    reply.body = boost::json::parse(response.body(), ec);
    if (!response.keep_alive()) close();
    return reply;
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    buffer_.clear();
    open_ = false;
  }

  std::string host_;
  std::uint16_t port_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

[[noreturn]] void fail(std::string_view what, const Reply& reply) {
  throw std::runtime_error(fmt::format("{}: HTTP {} {}", what, reply.status, boost::json::serialize(reply.body)));
}

// Runs task(client, i) for i in [0, n) on `concurrency` threads, each with
// its own connection. The first exception stops the others and is rethrown.
void parallel(const Options& options, std::size_t n, const std::function<void(RestClient&, std::size_t)>& task) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> threads;
  auto count = std::min<std::size_t>(options.setup_concurrency, n);
  auto servers = server_list(options);
  for (std::size_t t = 0; t < count; ++t) {
    // Round robin over the servers: the nodes of a cluster share the setup.
    threads.emplace_back([&, server = servers[t % servers.size()]] {
      RestClient client(server.host, server.port);
      for (std::size_t i = next++; i < n && !failed; i = next++) {
        try {
          task(client, i);
        } catch (...) {
          std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          failed = true;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (error) std::rethrow_exception(error);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

object run_setup(const Options& options, Topology& t) {
  object report;
  auto progress = [&](std::string_view phase, std::size_t n, Clock::time_point start) {
    double seconds = seconds_since(start);
    report[phase] = object{{"count", n}, {"seconds", seconds}};
    if (!options.quiet) std::cerr << fmt::format("setup: {} {} in {:.1f} s\n", n, phase, seconds);
  };
  auto start = Clock::now();

  // Sessions kept from an earlier run against the same data.
  std::vector<bool> cached(t.users.size(), false);
  object cache;
  if (!options.session_cache.empty()) {
    std::ifstream in(options.session_cache);
    std::stringstream text;
    text << in.rdbuf();
    if (in && !text.str().empty()) cache = boost::json::parse(text.str()).as_object();
    for (std::size_t i = 0; i < t.users.size(); ++i) {
      if (const auto* entry = cache.if_contains(t.users[i].username)) {
        t.users[i].token = std::string(entry->at("token").as_string());
        t.users[i].id = entry->at("id").to_number<std::int64_t>();
        cached[i] = true;
      }
    }
  }

  // Accounts. An existing account (a rerun with the same --users-prefix) is
  // reused: the login below tells whether the password matches.
  parallel(options, t.users.size(), [&](RestClient& client, std::size_t i) {
    auto& user = t.users[i];
    if (cached[i]) return;
    auto reply = client.post("/api/v1/accounts", object{{"username", user.username},
                                                        {"password", options.password},
                                                        {"display_name", "Bench " + user.username}});
    if (reply.status != 201 && reply.error_code() != "username_taken") fail("register " + user.username, reply);
  });
  progress("accounts", t.users.size(), start);

  auto phase_start = Clock::now();
  parallel(options, t.users.size(), [&](RestClient& client, std::size_t i) {
    auto& user = t.users[i];
    if (cached[i]) return;
    auto reply = client.post("/api/v1/sessions", object{{"username", user.username},
                                                        {"password", options.password},
                                                        {"device_name", "parley-bench"}});
    if (reply.status != 201 && reply.status != 200) fail("login " + user.username, reply);
    const auto& body = reply.body.as_object();
    user.token = std::string(body.at("token").as_string());
    user.id = body.at("user").as_object().at("id").to_number<std::int64_t>();
  });
  progress("logins", t.users.size(), phase_start);
  if (!options.session_cache.empty()) {
    for (const auto& user : t.users) cache[user.username] = object{{"token", user.token}, {"id", user.id}};
    std::ofstream out(options.session_cache);
    out << boost::json::serialize(cache) << '\n';
    if (!out) throw std::runtime_error("cannot write " + options.session_cache);
  }

  phase_start = Clock::now();
  parallel(options, t.contacts.size(), [&](RestClient& client, std::size_t i) {
    const auto& from = t.users[t.contacts[i].first];
    const auto& to = t.users[t.contacts[i].second];
    auto reply = client.post("/api/v1/contacts/invitations", object{{"username", to.username}}, from.token);
    if (reply.error_code() == "already_contacts") return;
    if (reply.status == 200) return;  // they had invited us: accepted at once
    if (reply.status != 201) fail(fmt::format("invite {} -> {}", from.username, to.username), reply);
    auto id = reply.body.as_object().at("invitation").as_object().at("id").to_number<std::int64_t>();
    auto accepted = client.post(fmt::format("/api/v1/contacts/invitations/{}/accept", id), object{}, to.token);
    if (accepted.status != 200 && accepted.status != 201) {
      fail(fmt::format("accept {} -> {}", from.username, to.username), accepted);
    }
  });
  progress("contacts", t.contacts.size(), phase_start);

  phase_start = Clock::now();
  parallel(options, t.conversations.size(), [&](RestClient& client, std::size_t i) {
    auto& conversation = t.conversations[i];
    const auto& creator = t.users[conversation.creator];
    Reply reply;
    if (conversation.kind == BenchConversation::Kind::kDirect) {
      const auto& other = t.users[conversation.members.at(1)];
      reply = client.post("/api/v1/conversations/direct", object{{"username", other.username}}, creator.token);
    } else {
      boost::json::array members;
      for (auto m : conversation.members) {
        if (m != conversation.creator) members.push_back(boost::json::string(t.users[m].username));
      }
      reply = client.post("/api/v1/conversations/groups",
                          object{{"name", conversation.name}, {"members", std::move(members)}}, creator.token);
    }
    if (reply.status != 201 && reply.status != 200) fail("create conversation " + std::to_string(i), reply);
    conversation.id = reply.body.as_object().at("conversation").as_object().at("id").to_number<std::int64_t>();
  });
  progress("conversations", t.conversations.size(), phase_start);
  report["seconds"] = seconds_since(start);
  return report;
}

}  // namespace parley::bench
