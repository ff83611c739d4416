// Login throttling as an attacker meets it: guessing is slowed down per
// (account, address), per address and per account, yet never locks the real
// user out, and the client address comes from a proxy header only when the
// proxy is trusted.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

using boost::json::object;

constexpr const char* kFastHash = "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\n";

ServerOptions with_config(std::string extra) {
  ServerOptions options;
  options.extra_config = std::move(extra);
  return options;
}

// A login sent through a proxy (the test client itself, when trusted) that
// says the client is `forwarded_for`.
Reply login_via(const HttpClient& client, const std::string& forwarded_for, object body,
                const std::string& header = "X-Forwarded-For") {
  std::map<std::string, std::string> headers;
  if (!forwarded_for.empty()) headers[header] = forwarded_for;
  return client.request("POST", "/api/v1/sessions", boost::json::serialize(body), "", "application/json", headers);
}

object credentials(const std::string& username, const std::string& password) {
  return object{{"username", username}, {"password", password}};
}

TEST(LoginThrottleBlackBoxTest, GuessingFromOneAddressDoesNotLockOutTheRealUserElsewhere) {
  ServerProcess server(with_config(std::string(kFastHash) +
                                   "login_delay_base_seconds = 600\n[http]\ntrusted_proxies = [\"127.0.0.1\"]\n"));
  HttpClient client(server.port());
  auto amy = register_and_login(client, "amy");
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    auto reply = login_via(client, "198.51.100.66", credentials("amy", "guess " + std::to_string(i)));
    ASSERT_TRUE(reply.status == 401 || reply.status == 429) << reply.body;
    refused += reply.status == 429;
  }
  EXPECT_GT(refused, 0);  // the guesser is slowed down...
  auto real = login_via(client, "203.0.113.5", credentials("amy", amy.password));
  EXPECT_EQ(real.status, 201) << real.body;  // ...the real user elsewhere is not
  // At the guesser's address, without a device token, even the right
  // password waits (KnownDevice* below show the way out).
  auto at_attacker = login_via(client, "198.51.100.66", credentials("amy", amy.password));
  EXPECT_EQ(at_attacker.status, 429);
}

TEST(LoginThrottleBlackBoxTest, KnownDeviceLogsInDuringADistributedAttack) {
  ServerProcess server(with_config(std::string(kFastHash) +
                                   "login_failures_per_account = 5\nlogin_delay_base_seconds = 600\n"
                                   "[http]\ntrusted_proxies = [\"127.0.0.1\"]\n"));
  HttpClient client(server.port());
  register_and_login(client, "amy");
  auto first = login_via(client, "203.0.113.5", credentials("amy", "password-amy"));
  ASSERT_EQ(first.status, 201) << first.body;
  std::string device_token(first.json().at("device_token").as_string());
  EXPECT_EQ(device_token.size(), 64U);

  // A botnet: every address guesses a few times, none reaches its own limit.
  for (int i = 0; i < 10; ++i) {
    auto reply = login_via(client, "198.51.100." + std::to_string(i), credentials("amy", "guess"));
    ASSERT_TRUE(reply.status == 401 || reply.status == 429) << reply.body;
  }
  // The account is now closed to unknown devices, even with the password...
  auto unknown = login_via(client, "203.0.113.77", credentials("amy", "password-amy"));
  EXPECT_EQ(unknown.status, 429) << unknown.body;
  // ...but the device that logged in before gets in, from anywhere.
  object with_device = credentials("amy", "password-amy");
  with_device["device_token"] = device_token;
  auto known = login_via(client, "203.0.113.6", with_device);
  ASSERT_EQ(known.status, 201) << known.body;
  EXPECT_EQ(known.json().at("device_token").as_string(), device_token);  // it keeps its token
  // Another account's device token is no key to this one.
  register_and_login(client, "bob");
  auto bob_login = login_via(client, "203.0.113.8", credentials("bob", "password-bob"));
  ASSERT_EQ(bob_login.status, 201) << bob_login.body;
  object foreign = credentials("amy", "password-amy");
  foreign["device_token"] = bob_login.json().at("device_token");
  EXPECT_EQ(login_via(client, "203.0.113.6", foreign).status, 429);
}

TEST(LoginThrottleBlackBoxTest, KnownDeviceIsNotLockedOutFromASharedAddress) {
  // No proxy: the guesser and the real user share 127.0.0.1 (think one NAT).
  ServerProcess server(with_config(std::string(kFastHash) + "login_delay_base_seconds = 600\n"));
  HttpClient client(server.port());
  register_and_login(client, "amy");
  auto first = client.post("/api/v1/sessions", credentials("amy", "password-amy"));
  ASSERT_EQ(first.status, 201);
  for (int i = 0; i < 25; ++i) (void)client.post("/api/v1/sessions", credentials("amy", "guess"));
  EXPECT_EQ(client.post("/api/v1/sessions", credentials("amy", "password-amy")).status, 429);
  object with_device = credentials("amy", "password-amy");
  with_device["device_token"] = first.json().at("device_token");
  auto known = client.post("/api/v1/sessions", with_device);
  EXPECT_EQ(known.status, 201) << known.body;
}

TEST(LoginThrottleBlackBoxTest, ClientsBehindATrustedProxyAreThrottledSeparately) {
  ServerProcess server(with_config(std::string(kFastHash) +
                                   "login_failures_per_address = 3\nlogin_delay_base_seconds = 600\n"
                                   "[http]\ntrusted_proxies = [\"127.0.0.0/8\"]\n"));
  HttpClient client(server.port());
  for (int i = 0; i < 3; ++i) {
    auto reply = login_via(client, "198.51.100.1", credentials("user" + std::to_string(i), "guess"));
    EXPECT_EQ(reply.status, 401) << reply.body;
  }
  EXPECT_EQ(login_via(client, "198.51.100.1", credentials("someone", "guess")).status, 429);
  // A client the client wrote into the chain itself does not help it: the
  // proxy's entry (the right-most) is what counts.
  EXPECT_EQ(login_via(client, "203.0.113.9, 198.51.100.1", credentials("someone", "guess")).status, 429);
  // Another client behind the same proxy is not affected.
  EXPECT_EQ(login_via(client, "198.51.100.2", credentials("someone", "guess")).status, 401);
}

TEST(LoginThrottleBlackBoxTest, ForwardedHeaderIsReadWhenConfigured) {
  ServerProcess server(with_config(std::string(kFastHash) +
                                   "login_failures_per_address = 2\nlogin_delay_base_seconds = 600\n"
                                   "[http]\ntrusted_proxies = [\"127.0.0.1\"]\nforwarded_header = \"Forwarded\"\n"));
  HttpClient client(server.port());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(login_via(client, "for=198.51.100.1", credentials("user" + std::to_string(i), "g"), "Forwarded").status,
              401);
  }
  EXPECT_EQ(login_via(client, "for=198.51.100.1", credentials("xavier", "g"), "Forwarded").status, 429);
  EXPECT_EQ(login_via(client, "for=\"[2001:db8::1]:4711\"", credentials("xavier", "g"), "Forwarded").status, 401);
  // X-Forwarded-For is not the configured header: a client cannot use it to dodge.
  EXPECT_EQ(login_via(client, "198.51.100.7", credentials("xavier", "g")).status, 401);
}

TEST(LoginThrottleBlackBoxTest, ProxyHeaderFromAnUntrustedPeerIsIgnored) {
  ServerProcess server(with_config(std::string(kFastHash) +
                                   "login_failures_per_address = 3\nlogin_delay_base_seconds = 600\n"
                                   "[http]\ntrusted_proxies = [\"10.0.0.0/8\"]\n"));
  HttpClient client(server.port());
  // The peer (127.0.0.1) is not a trusted proxy: a new X-Forwarded-For per
  // attempt must not buy a new budget.
  for (int i = 0; i < 3; ++i) {
    auto reply = login_via(client, "198.51.100." + std::to_string(i), credentials("user" + std::to_string(i), "g"));
    EXPECT_EQ(reply.status, 401) << reply.body;
  }
  EXPECT_EQ(login_via(client, "198.51.100.200", credentials("someone", "g")).status, 429);
}

TEST(LoginThrottleBlackBoxTest, InvalidTrustedProxyRefusesToStart) {
  try {
    ServerProcess server(with_config("[http]\ntrusted_proxies = [\"10.0.0.1/8\"]\n"));
    ADD_FAILURE() << "parleyd started with a trusted proxy block that has host bits set";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("trusted_proxies"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace parley::test
