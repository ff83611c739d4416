// Two-factor login (TOTP, RFC 6238) from the outside. Codes are computed by
// Debian's oathtool, an implementation independent of the server's.
#include <chrono>
#include <cstdio>
#include <set>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

using boost::json::object;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The TOTP code of a base32 secret at a Unix time, from oathtool.
std::string oathtool(const std::string& secret, std::int64_t when) {
  for (char c : secret) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) throw std::runtime_error("not a base32 secret: " + secret);
  }
  std::string command = "oathtool --totp --base32 -N @" + std::to_string(when) + " " + secret + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run oathtool");
  char line[64] = {};
  std::string out = fgets(line, sizeof line, pipe) ? line : "";
  int status = pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0 || out.size() != 6) throw std::runtime_error("oathtool failed (is it installed?): " + out);
  return out;
}

// A six-digit code that is valid at none of the steps around `when`.
std::string wrong_code(const std::string& secret, std::int64_t when) {
  std::set<std::string> valid{oathtool(secret, when - 30), oathtool(secret, when), oathtool(secret, when + 30)};
  for (char d = '0'; d <= '9'; ++d) {
    std::string code(6, d);
    if (!valid.contains(code)) return code;
  }
  throw std::logic_error("unreachable");
}

class TwoFactorTest : public ::testing::Test {
 protected:
  explicit TwoFactorTest(ServerOptions options = {})
      : server(std::move(options)), client(server.port()), amy(register_and_login(client, "amy")) {}

  // Enrols and confirms at `when`; returns the secret and fills `recovery`.
  std::string enable(std::int64_t when, std::vector<std::string>* recovery = nullptr) {
    auto enrol = client.post("/api/v1/me/two-factor", object{{"password", amy.password}}, amy.token);
    EXPECT_EQ(enrol.status, 200) << enrol.body;
    std::string secret(enrol.json().at("secret").as_string());
    auto confirm = client.post("/api/v1/me/two-factor/confirm", object{{"code", oathtool(secret, when)}}, amy.token);
    EXPECT_EQ(confirm.status, 200) << confirm.body;
    if (recovery) {
      auto body = confirm.json();  // kept: the loop must not iterate a destroyed temporary
      for (const auto& code : body.at("recovery_codes").as_array()) {
        recovery->emplace_back(code.as_string());
      }
    }
    return secret;
  }

  // The first login step; returns the challenge (and checks no session was made).
  std::string challenge() const {
    auto reply = client.post("/api/v1/sessions", object{{"username", "amy"}, {"password", amy.password}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    auto json = reply.json().as_object();
    EXPECT_TRUE(json.at("two_factor_required").as_bool());
    EXPECT_FALSE(json.contains("token"));
    return std::string(json.at("challenge").as_string());
  }

  Reply second_step(const std::string& challenge, const std::string& code) const {
    return client.post("/api/v1/sessions/two-factor", object{{"challenge", challenge}, {"code", code}});
  }

  object status() const { return client.get("/api/v1/me/two-factor", amy.token).json().as_object(); }

  ServerProcess server;
  HttpClient client;
  TestUser amy;
};

TEST_F(TwoFactorTest, EnrolmentGivesSecretUriAndQrCodesAndNeedsConfirmation) {
  auto enrol = client.post("/api/v1/me/two-factor", object{{"password", amy.password}}, amy.token);
  ASSERT_EQ(enrol.status, 200) << enrol.body;
  auto json = enrol.json().as_object();
  std::string secret(json.at("secret").as_string());
  EXPECT_EQ(secret.size(), 32U);  // 160 bits of base32
  EXPECT_EQ(json.at("otpauth_uri").as_string(),
            "otpauth://totp/Parley:amy?secret=" + secret + "&issuer=Parley&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(std::string(json.at("qr_svg").as_string()).rfind("<svg", 0), 0U);
  EXPECT_NE(std::string(json.at("qr_text").as_string()).find("\u2588"), std::string::npos);
  EXPECT_TRUE(status().at("pending").as_bool());
  EXPECT_FALSE(status().at("enabled").as_bool());
  // Pending, not yet in force: a login needs no second step.
  EXPECT_EQ(client.post("/api/v1/sessions", object{{"username", "amy"}, {"password", amy.password}}).status, 201);
  // The wrong password does not start an enrolment.
  EXPECT_EQ(client.post("/api/v1/me/two-factor", object{{"password", "wrong password"}}, amy.token).status, 403);

  std::int64_t now = unix_now();
  auto wrong = client.post("/api/v1/me/two-factor/confirm", object{{"code", wrong_code(secret, now)}}, amy.token);
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  auto confirm = client.post("/api/v1/me/two-factor/confirm", object{{"code", oathtool(secret, now)}}, amy.token);
  ASSERT_EQ(confirm.status, 200) << confirm.body;
  std::set<std::string> codes;
  auto confirmed = confirm.json();
  for (const auto& code : confirmed.at("recovery_codes").as_array()) {
    std::string text(code.as_string());
    EXPECT_EQ(text.size(), 19U) << text;  // xxxx-xxxx-xxxx-xxxx
    codes.insert(text);
  }
  EXPECT_EQ(codes.size(), 10U);
  EXPECT_TRUE(status().at("enabled").as_bool());
  EXPECT_EQ(status().at("recovery_codes_left").as_int64(), 10);
  // Enabled: enrolling again is a conflict.
  EXPECT_EQ(client.post("/api/v1/me/two-factor", object{{"password", amy.password}}, amy.token).status, 409);
}

TEST_F(TwoFactorTest, LoginNeedsTheSecondStepAndEachCodeWorksOnce) {
  std::int64_t t0 = unix_now();
  std::vector<std::string> recovery;
  std::string secret = enable(t0, &recovery);

  std::string first = challenge();
  auto wrong = second_step(first, wrong_code(secret, t0));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.error_code(), "invalid_two_factor_code");
  // The code that confirmed the enrolment is spent.
  auto reused = second_step(first, oathtool(secret, t0));
  EXPECT_EQ(reused.status, 401);
  EXPECT_EQ(reused.error_code(), "invalid_two_factor_code");
  // The next step's code is within the one-step skew, and unused.
  auto ok = second_step(first, oathtool(secret, t0 + 30));
  ASSERT_EQ(ok.status, 201) << ok.body;
  std::string token(ok.json().at("token").as_string());
  EXPECT_EQ(client.get("/api/v1/me", token).status, 200);
  EXPECT_EQ(ok.json().at("device_token").as_string().size(), 64U);
  // A finished challenge is gone.
  EXPECT_EQ(second_step(first, oathtool(secret, t0 + 30)).error_code(), "invalid_challenge");

  // The same code again, on a new challenge: refused.
  std::string second = challenge();
  EXPECT_EQ(second_step(second, oathtool(secret, t0 + 30)).error_code(), "invalid_two_factor_code");
  // A recovery code works, once (in any case and spacing).
  std::string shouted = recovery[0];
  for (char& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(second_step(second, shouted).status, 201);
  EXPECT_EQ(second_step(challenge(), recovery[0]).error_code(), "invalid_two_factor_code");
  EXPECT_EQ(status().at("recovery_codes_left").as_int64(), 9);
  EXPECT_EQ(second_step("no-such-challenge", recovery[1]).error_code(), "invalid_challenge");
}

TEST_F(TwoFactorTest, DisablingNeedsPasswordAndCode) {
  std::int64_t t0 = unix_now();
  std::vector<std::string> recovery;
  std::string secret = enable(t0, &recovery);
  auto bad_password = client.post("/api/v1/me/two-factor/disable",
                                   object{{"password", "wrong password"}, {"code", oathtool(secret, t0 + 30)}}, amy.token);
  EXPECT_EQ(bad_password.status, 403) << bad_password.body;
  auto bad_code = client.post("/api/v1/me/two-factor/disable",
                              object{{"password", amy.password}, {"code", wrong_code(secret, t0)}}, amy.token);
  EXPECT_EQ(bad_code.status, 403) << bad_code.body;
  EXPECT_TRUE(status().at("enabled").as_bool());
  auto off = client.post("/api/v1/me/two-factor/disable",
                         object{{"password", amy.password}, {"code", oathtool(secret, t0 + 30)}}, amy.token);
  EXPECT_EQ(off.status, 204) << off.body;
  EXPECT_FALSE(status().at("enabled").as_bool());
  EXPECT_EQ(client.post("/api/v1/sessions", object{{"username", "amy"}, {"password", amy.password}}).status, 201);
  // And on again with a new secret: the old recovery codes are void.
  std::string again = enable(unix_now());
  EXPECT_NE(again, secret);
  EXPECT_EQ(second_step(challenge(), recovery[2]).error_code(), "invalid_two_factor_code");
}

TEST_F(TwoFactorTest, AKnownDeviceKeepsItsTokenThroughTheSecondStep) {
  auto before = client.post("/api/v1/sessions", object{{"username", "amy"}, {"password", amy.password}});
  ASSERT_EQ(before.status, 201) << before.body;
  auto device_token = before.json().at("device_token");
  std::int64_t t0 = unix_now();
  std::string secret = enable(t0);
  auto first = client.post("/api/v1/sessions",
                           object{{"username", "amy"}, {"password", amy.password}, {"device_token", device_token}});
  ASSERT_EQ(first.status, 200) << first.body;
  auto done = second_step(std::string(first.json().at("challenge").as_string()), oathtool(secret, t0 + 30));
  ASSERT_EQ(done.status, 201) << done.body;
  EXPECT_EQ(done.json().at("device_token"), device_token);
}

class TwoFactorThrottleTest : public TwoFactorTest {
 protected:
  static ServerOptions options() {
    ServerOptions o;
    o.extra_config =
        "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\nlogin_failures_per_pair = 3\n"
        "login_delay_base_seconds = 600\n";
    return o;
  }
  TwoFactorThrottleTest() : TwoFactorTest(options()) {}
};

TEST_F(TwoFactorThrottleTest, SecondStepIsThrottledLikeThePassword) {
  std::int64_t t0 = unix_now();
  std::string secret = enable(t0);
  std::string pending = challenge();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(second_step(pending, wrong_code(secret, t0)).status, 401);
  // Even the right code now waits, and so does the password step.
  auto throttled = second_step(pending, oathtool(secret, t0 + 30));
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_TRUE(throttled.headers.contains("retry-after"));
  EXPECT_EQ(client.post("/api/v1/sessions", object{{"username", "amy"}, {"password", amy.password}}).status, 429);
}

class TwoFactorChallengeTest : public TwoFactorTest {
 protected:
  static ServerOptions options() {
    ServerOptions o;
    // Loose throttling, so that only the challenge's own limit is at work.
    o.extra_config =
        "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\nlogin_failures_per_pair = 100\n"
        "login_failures_per_address = 100\n";
    return o;
  }
  TwoFactorChallengeTest() : TwoFactorTest(options()) {}
};

TEST_F(TwoFactorChallengeTest, AChallengeEndsAfterFiveWrongCodes) {
  std::int64_t t0 = unix_now();
  std::string secret = enable(t0);
  std::string pending = challenge();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(second_step(pending, wrong_code(secret, t0)).status, 401);
  auto late = second_step(pending, oathtool(secret, t0 + 30));
  EXPECT_EQ(late.status, 401);
  EXPECT_EQ(late.error_code(), "invalid_challenge");
  // A new login gets a new challenge, and the unused code still works.
  EXPECT_EQ(second_step(challenge(), oathtool(secret, t0 + 30)).status, 201);
}

// Deleting the account needs the second factor too: a stolen token and a
// phished password are not enough (docs/security.md "Account deletion").
TEST_F(TwoFactorTest, DeletingTheAccountNeedsTheSecondFactor) {
  auto t0 = unix_now();
  std::string secret = enable(t0);
  auto del = [&](object body) {
    return client.request("DELETE", "/api/v1/me", boost::json::serialize(body), amy.token);
  };
  auto without = del(object{{"password", amy.password}});
  EXPECT_EQ(without.status, 422) << without.body;
  auto wrong = del(object{{"password", amy.password}, {"two_factor_code", wrong_code(secret, t0)}});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(wrong.error_code(), "invalid_two_factor_code");
  EXPECT_EQ(client.get("/api/v1/me", amy.token).status, 200);
  auto right = del(object{{"password", amy.password}, {"two_factor_code", oathtool(secret, t0 + 30)}});
  EXPECT_EQ(right.status, 204) << right.body;
  EXPECT_EQ(client.get("/api/v1/me", amy.token).status, 401);
}

}  // namespace
}  // namespace parley::test
