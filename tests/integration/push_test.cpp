// Web Push, black box: the real parleyd sends to a stand-in push service (an
// HTTPS server in this test, with a throwaway CA made by openssl: a real push
// service is outside the machine by nature), and an independent
// implementation (tests/push-check: the npm http_ece package and node:crypto)
// decrypts each push and verifies its VAPID signature. Also: who gets a push
// (not the sender, not a connected user, not a muted conversation), 410
// deletes the subscription, 429 with Retry-After is retried once later,
// subscriptions end with their session, others cannot delete them, private
// endpoints are refused unless allowed, and every bad input is a 422 that
// stores nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::json::object;
using namespace std::chrono_literals;

const std::filesystem::path kCheckScript = std::filesystem::path(PARLEY_SOURCE_DIR) / "tests/push-check/check.mjs";

// Runs a shell command; returns its stdout, fails the test on a non-zero exit.
std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error("command failed (" + std::to_string(status) + "): " + command + "\n" + out);
  return out;
}

std::string quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A CA and a certificate for 127.0.0.1 and localhost signed by it, made
// once per test process in a temporary folder.
struct TestCa {
  std::filesystem::path dir;
  TestCa() {
    dir = std::filesystem::temp_directory_path() / ("parley-push-ca-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "ext.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    std::string d = quote(dir.string());
    run("cd " + d +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem"
        " -days 2 -subj '/CN=Parley push test CA' 2>&1"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr"
        " -subj '/CN=127.0.0.1' 2>&1"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
        " -extfile ext.cnf 2>&1");
  }
  ~TestCa() { std::filesystem::remove_all(dir); }
};

const TestCa& test_ca() {
  static TestCa ca;
  return ca;
}

// One request the stand-in push service received.
struct PushRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;
};

// What the stand-in answers: a status and its headers.
struct Answer {
  int status = 201;
  std::map<std::string, std::string> headers;
};

// An HTTPS push service on 127.0.0.1: records every request and answers the
// scripted answers in order, then 201.
class StubPushService {
 public:
  StubPushService() : tls_(asio::ssl::context::tls_server), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    tls_.use_certificate_chain_file((test_ca().dir / "server.pem").string());
    tls_.use_private_key_file((test_ca().dir / "server.key").string(), asio::ssl::context::pem);
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~StubPushService() {
    io_.stop();
    thread_.join();
  }

  [[nodiscard]] std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }

  void script(Answer answer) {
    std::lock_guard lock(mutex_);
    answers_.push_back(std::move(answer));
  }

  // Waits until `count` requests arrived; false if not within `timeout`.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
  }

  std::vector<PushRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    try {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls_);
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      co_await http::async_read(stream, buffer, request, asio::use_awaitable);
      PushRequest seen{std::string(request.method_string()),
                       std::string(request.target()),
                       {},
                       request.body(),
                       std::chrono::steady_clock::now()};
      for (const auto& field : request) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        seen.headers[name] = std::string(field.value());
      }
      Answer answer;
      {
        std::lock_guard lock(mutex_);
        if (!answers_.empty()) {
          answer = answers_.front();
          answers_.pop_front();
        }
      }
      http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
      for (const auto& [name, value] : answer.headers) response.set(name, value);
      response.keep_alive(false);
      response.prepare_payload();
      co_await http::async_write(stream, response, asio::use_awaitable);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(std::move(seen));
      }
      changed_.notify_all();
      boost::system::error_code ec;
      beast::get_lowest_layer(stream).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    } catch (const std::exception&) {
      // A client that went away: nothing to record.
    }
  }

  // Declared before io_: connections still open when io_ is destroyed
  // (with their coroutines) use them.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Answer> answers_;         // guarded by mutex_
  std::vector<PushRequest> requests_;  // guarded by mutex_
  asio::ssl::context tls_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

// A browser's subscription keys, with the private key the browser keeps.
struct Subscriber {
  std::string p256dh;
  std::string auth;
  std::string private_key;
};

Subscriber new_subscriber() {
  auto keys = boost::json::parse(run("node " + quote(kCheckScript.string()) + " keys")).as_object();
  return {std::string(keys.at("p256dh").as_string()), std::string(keys.at("auth").as_string()),
          std::string(keys.at("private").as_string())};
}

object subscription_body(const std::string& endpoint, const Subscriber& s) {
  return object{
      {"endpoint", endpoint}, {"expirationTime", nullptr}, {"keys", object{{"p256dh", s.p256dh}, {"auth", s.auth}}}};
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

const std::string kSubject = "mailto:ops@parley.test";

// Waits (polling /metrics, up to 15 s) until it has the line `text`.
bool wait_for_metric(const HttpClient& client, const std::string& text) {
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (client.get("/metrics").body.find(text + "\n") != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string push_config(bool allow_private, const std::string& extra = "") {
  return "[push]\nsubject = \"" + kSubject + "\"\nca_file = \"" + (test_ca().dir / "ca.pem").string() +
         "\"\nallow_private_endpoints = " + (allow_private ? "true" : "false") + "\n" + extra;
}

class PushTest : public ::testing::Test {
 protected:
  explicit PushTest(std::string extra = "") : server({.extra_config = push_config(true, extra), .data_dir = {}}) {}

  void SetUp() override {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    make_contacts(client, alice, bob);
    conversation = direct_conversation(client, alice, bob);
    vapid_key = std::string(client.get("/api/v1/push/vapid-public-key").json().at("public_key").as_string());
  }

  // Registers a subscription for `user` at the stub's `path`; returns its id.
  std::int64_t subscribe(const TestUser& user, const Subscriber& keys, const std::string& path) {
    auto reply = client.post("/api/v1/push/subscriptions", subscription_body(stub.url(path), keys), user.token);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json().at("subscription").at("id").as_int64();
  }

  // Sends a message as `user` from a device that connects only for that.
  std::int64_t send(const TestUser& user, std::int64_t to, const std::string& text) {
    WsClient ws(server.port());
    ws.hello(user.token);
    return send_text_ok(ws, to, text);
  }

  // Decrypts and verifies a request with tests/push-check; returns the payload.
  object check(const PushRequest& request, const Subscriber& keys) {
    object input{{"private", keys.private_key},
                 {"p256dh", keys.p256dh},
                 {"auth", keys.auth},
                 {"body", base64(request.body)},
                 {"authorization", request.headers.count("authorization") ? request.headers.at("authorization") : ""},
                 {"audience", stub.url("")},
                 {"subject", kSubject},
                 {"vapid_public_key", vapid_key}};
    auto out = run("node " + quote(kCheckScript.string()) + " check " + quote(boost::json::serialize(input)));
    return boost::json::parse(out).at("payload").as_object();
  }

  std::vector<object> subscriptions(const TestUser& user) {
    auto reply = client.get("/api/v1/push/subscriptions", user.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::vector<object> list;
    auto body = reply.json();
    for (const auto& item : body.at("subscriptions").as_array()) list.push_back(item.as_object());
    return list;
  }

  StubPushService stub;
  ServerProcess server;
  HttpClient client{server.port()};
  TestUser alice;
  TestUser bob;
  std::int64_t conversation = 0;
  std::string vapid_key;
};

TEST_F(PushTest, DeliversAPushThatAnIndependentImplementationDecryptsAndVerifies) {
  auto keys = new_subscriber();
  subscribe(bob, keys, "/push/bob");
  auto alice_keys = new_subscriber();
  subscribe(alice, alice_keys, "/push/alice");  // the sender: gets nothing

  auto id = send(alice, conversation, "Lunch at noon? \xF0\x9F\x8D\x95");
  ASSERT_TRUE(stub.wait_for(1));
  auto request = stub.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/push/bob");
  EXPECT_EQ(request.headers["content-encoding"], "aes128gcm");
  EXPECT_EQ(request.headers["ttl"], "86400");
  EXPECT_EQ(request.headers["urgency"], "normal");
  EXPECT_EQ(request.headers["topic"], "c" + std::to_string(conversation)) << "collapses per conversation";
  EXPECT_LE(request.body.size(), 4096U);
  auto payload = check(request, keys);
  EXPECT_EQ(payload.at("type"), "message.new");
  EXPECT_EQ(payload.at("conversation_id").as_int64(), conversation);
  EXPECT_EQ(payload.at("message_id").as_int64(), id);
  EXPECT_EQ(payload.at("sender"), "User alice") << "the display name";
  EXPECT_EQ(payload.at("preview"), "Lunch at noon? \xF0\x9F\x8D\x95");
  EXPECT_EQ(payload.at("unread").as_int64(), 1);

  // Previews off: who wrote, not what.
  ASSERT_EQ(client.patch("/api/v1/me/settings", object{{"notification_previews", false}}, bob.token).status, 200);
  send(alice, conversation, "the secret plan");
  ASSERT_TRUE(stub.wait_for(2));
  auto second = check(stub.requests().at(1), keys);
  EXPECT_FALSE(second.contains("preview")) << boost::json::serialize(second);
  EXPECT_EQ(second.at("unread").as_int64(), 2);
  EXPECT_EQ(stub.requests().size(), 2U) << "the sender's own subscription got nothing";

  EXPECT_TRUE(wait_for_metric(client, "parley_push_total{outcome=\"sent\"} 2"));
}

TEST_F(PushTest, NoPushToAConnectedUserOrForAMutedConversation) {
  auto keys = new_subscriber();
  subscribe(bob, keys, "/push/bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, carol, bob);
  auto with_carol = direct_conversation(client, carol, bob);
  {
    WsClient bob_device(server.port());
    bob_device.hello(bob.token);
    send(alice, conversation, "bob is online");  // shown by bob's device, no push
    // Connected until the message reached the device.
    while (bob_device.next().at("type") != "event") {
    }
  }
  auto until =
      std::chrono::duration_cast<std::chrono::milliseconds>((std::chrono::system_clock::now() + 1h).time_since_epoch())
          .count();
  ASSERT_EQ(
      client.put("/api/v1/me/settings/mutes/" + std::to_string(conversation), object{{"muted_until", until}}, bob.token)
          .status,
      200);
  send(alice, conversation, "muted");
  // Carol's message is pushed after the two above were decided.
  auto id = send(carol, with_carol, "not muted");
  ASSERT_TRUE(stub.wait_for(1));
  auto requests = stub.requests();
  ASSERT_EQ(requests.size(), 1U);
  auto payload = check(requests[0], keys);
  EXPECT_EQ(payload.at("message_id").as_int64(), id);
}

TEST_F(PushTest, GoneSubscriptionIsDeleted) {
  auto keys = new_subscriber();
  subscribe(bob, keys, "/push/bob");
  stub.script({410, {}});
  send(alice, conversation, "hello?");
  ASSERT_TRUE(stub.wait_for(1));
  ASSERT_TRUE(server.wait_for_log("push subscription gone", 1));
  EXPECT_TRUE(subscriptions(bob).empty());
}

TEST_F(PushTest, TooManyRequestsIsRetriedOnceAfterRetryAfter) {
  auto keys = new_subscriber();
  subscribe(bob, keys, "/push/bob");
  stub.script({429, {{"Retry-After", "1"}}});
  send(alice, conversation, "again");
  ASSERT_TRUE(stub.wait_for(2));
  ASSERT_TRUE(wait_for_metric(client, "parley_push_total{outcome=\"sent\"} 1"));
  auto requests = stub.requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_GE(requests[1].at - requests[0].at, 900ms) << "Retry-After: 1 was honoured";
  EXPECT_EQ(requests[0].body, requests[1].body) << "the same push again";
  check(requests[1], keys);
  auto metrics = client.get("/metrics").body;
  EXPECT_NE(metrics.find("parley_push_total{outcome=\"retried\"} 1\n"), std::string::npos) << metrics;
  EXPECT_EQ(subscriptions(bob).size(), 1U);
}

TEST_F(PushTest, SubscriptionsEndWithTheirSession) {
  auto phone = login(client, "bob", bob.password, "phone");
  auto laptop = login(client, "bob", bob.password, "laptop");
  subscribe(phone, new_subscriber(), "/push/phone");
  subscribe(laptop, new_subscriber(), "/push/laptop");
  ASSERT_EQ(subscriptions(bob).size(), 2U);
  // Revoked from another device.
  ASSERT_EQ(client.del("/api/v1/sessions/" + std::to_string(phone.session_id), bob.token).status, 204);
  auto left = subscriptions(bob);
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left[0].at("endpoint").as_string(), stub.url("/push/laptop"));
  // Logged out.
  ASSERT_EQ(client.del("/api/v1/sessions/current", laptop.token).status, 204);
  EXPECT_TRUE(subscriptions(bob).empty());
}

TEST_F(PushTest, OthersCannotSeeOrDeleteASubscription) {
  auto id = subscribe(bob, new_subscriber(), "/push/bob");
  auto reply = client.del("/api/v1/push/subscriptions/" + std::to_string(id), alice.token);
  EXPECT_EQ(reply.status, 404) << reply.body;
  EXPECT_EQ(reply.error_code(), "not_found");
  EXPECT_TRUE(subscriptions(alice).empty());
  ASSERT_EQ(subscriptions(bob).size(), 1U);
  EXPECT_EQ(client.del("/api/v1/push/subscriptions/" + std::to_string(id), "").status, 401);
  EXPECT_EQ(client.del("/api/v1/push/subscriptions/" + std::to_string(id), bob.token).status, 204);
  EXPECT_TRUE(subscriptions(bob).empty());
  EXPECT_EQ(client.del("/api/v1/push/subscriptions/" + std::to_string(id), bob.token).status, 404);
}

TEST_F(PushTest, BadSubscriptionsAreRefusedAndStoreNothing) {
  auto good = new_subscriber();
  std::string endpoint = stub.url("/push/bob");
  auto with_keys = [&](object keys) { return object{{"endpoint", endpoint}, {"keys", std::move(keys)}}; };
  std::string off_curve = good.p256dh;
  off_curve[40] = off_curve[40] == 'A' ? 'B' : 'A';
  std::vector<std::pair<std::string, object>> cases = {
      {"no endpoint", object{{"keys", object{{"p256dh", good.p256dh}, {"auth", good.auth}}}}},
      {"http endpoint", subscription_body("http://127.0.0.1/push", good)},
      {"not a URL", subscription_body("push service", good)},
      {"endpoint too long", subscription_body(endpoint + std::string(1100, 'a'), good)},
      {"endpoint with user info", subscription_body("https://u:p@127.0.0.1/x", good)},
      {"no keys", object{{"endpoint", endpoint}}},
      {"keys not an object", object{{"endpoint", endpoint}, {"keys", "abc"}}},
      {"no p256dh", with_keys(object{{"auth", good.auth}})},
      {"no auth", with_keys(object{{"p256dh", good.p256dh}})},
      {"p256dh not base64url", with_keys(object{{"p256dh", "not base64!"}, {"auth", good.auth}})},
      {"p256dh too short", with_keys(object{{"p256dh", good.p256dh.substr(0, 44)}, {"auth", good.auth}})},
      {"p256dh off the curve", with_keys(object{{"p256dh", off_curve}, {"auth", good.auth}})},
      {"p256dh too long", with_keys(object{{"p256dh", std::string(200, 'A')}, {"auth", good.auth}})},
      {"auth 15 bytes", with_keys(object{{"p256dh", good.p256dh}, {"auth", "AAAAAAAAAAAAAAAAAAAA"}})},
      {"auth 18 bytes", with_keys(object{{"p256dh", good.p256dh}, {"auth", good.auth + "AA"}})},
      {"unknown field",
       object{{"endpoint", endpoint}, {"keys", object{{"p256dh", good.p256dh}, {"auth", good.auth}}}, {"extra", 1}}},
      {"unknown key field", with_keys(object{{"p256dh", good.p256dh}, {"auth", good.auth}, {"x", "y"}})},
  };
  for (const auto& [name, body] : cases) {
    auto reply = client.post("/api/v1/push/subscriptions", body, bob.token);
    EXPECT_EQ(reply.status, 422) << name << ": " << reply.body;
    EXPECT_EQ(reply.error_code(), "validation_failed") << name;
  }
  auto not_json = client.request("POST", "/api/v1/push/subscriptions", "{\"endpoint\":", bob.token);
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  auto no_token = client.post("/api/v1/push/subscriptions", subscription_body(endpoint, good), "");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_TRUE(subscriptions(bob).empty()) << "nothing was stored";
}

class PushLimitTest : public PushTest {
 protected:
  PushLimitTest() : PushTest("max_subscriptions_per_user = 2\n") {}
};

TEST_F(PushLimitTest, SubscriptionsPerUserAreLimited) {
  auto first = new_subscriber();
  subscribe(bob, first, "/push/1");
  subscribe(bob, new_subscriber(), "/push/2");
  auto reply =
      client.post("/api/v1/push/subscriptions", subscription_body(stub.url("/push/3"), new_subscriber()), bob.token);
  EXPECT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(reply.error_code(), "conflict");
  // The same endpoint again (the browser registering anew) replaces its row.
  auto again = client.post("/api/v1/push/subscriptions", subscription_body(stub.url("/push/1"), first), bob.token);
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(subscriptions(bob).size(), 2U);
}

TEST(PushPrivateEndpointTest, PrivateEndpointsAreRefusedUnlessAllowed) {
  auto data_dir = std::filesystem::temp_directory_path() / ("parley-push-private-" + std::to_string(::getpid()));
  std::filesystem::remove_all(data_dir);
  std::filesystem::create_directories(data_dir);
  StubPushService stub;
  auto keys = new_subscriber();
  TestUser alice;
  TestUser bob;
  std::int64_t conversation = 0;
  std::string first_key;
  {
    // Allowed (as for the other tests): bob subscribes at 127.0.0.1.
    ServerProcess server({.extra_config = push_config(true), .data_dir = data_dir});
    HttpClient client(server.port());
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    make_contacts(client, alice, bob);
    conversation = direct_conversation(client, alice, bob);
    ASSERT_EQ(client.post("/api/v1/push/subscriptions", subscription_body(stub.url("/p"), keys), bob.token).status,
              201);
    first_key = std::string(client.get("/api/v1/push/vapid-public-key").json().at("public_key").as_string());
    EXPECT_EQ(first_key.size(), 87U) << "65 bytes in base64url";
  }
  struct stat st {};
  ASSERT_EQ(::stat((data_dir / "data" / "push" / "vapid.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);

  {
    ServerProcess server({.extra_config = push_config(false), .data_dir = data_dir});
    HttpClient client(server.port());
    EXPECT_EQ(client.get("/api/v1/push/vapid-public-key").json().at("public_key").as_string(), first_key)
        << "the key survives a restart";
    for (const std::string& endpoint :
         {stub.url("/q"), std::string("https://localhost/q"), std::string("https://10.0.0.8/q"),
          std::string("https://169.254.169.254/latest"), std::string("https://[::1]:8443/q")}) {
      auto reply = client.post("/api/v1/push/subscriptions", subscription_body(endpoint, keys), bob.token);
      EXPECT_EQ(reply.status, 422) << endpoint << ": " << reply.body;
      EXPECT_EQ(reply.error_code(), "validation_failed") << endpoint;
    }
    // The subscription made while it was allowed is not sent to either.
    WsClient ws(server.port());
    ws.hello(alice.token);
    send_text_ok(ws, conversation, "to a private address");
    ASSERT_TRUE(server.wait_for_log("push refused", 1));
    EXPECT_TRUE(stub.requests().empty());
    EXPECT_TRUE(wait_for_metric(client, "parley_push_total{outcome=\"refused\"} 1"));
  }
  std::filesystem::remove_all(data_dir);
}

}  // namespace
}  // namespace parley::test
