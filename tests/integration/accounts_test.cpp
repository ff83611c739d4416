// Accounts and device sessions: register, log in, log out, list and revoke
// sessions, change password, token expiry.
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

using boost::json::object;

class AccountsTest : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient client{server.port()};
};

TEST_F(AccountsTest, RegisterLoginAndReadOwnProfile) {
  auto reply = client.post("/api/v1/accounts",
                           object{{"username", "Alice"}, {"password", "correct horse"}, {"display_name", "Alice A."}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto user = reply.json().at("user");
  EXPECT_EQ(user.at("username"), "alice");  // stored in lower case
  EXPECT_EQ(user.at("display_name"), "Alice A.");
  EXPECT_TRUE(user.at("avatar_media_id").is_null());

  auto alice = login(client, "ALICE", "correct horse", "laptop");
  EXPECT_EQ(alice.token.size(), 43U);
  auto me = client.get("/api/v1/me", alice.token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().at("user").at("id").as_int64(), alice.id);
}

TEST_F(AccountsTest, DuplicateUsernameIsConflictAndCaseInsensitive) {
  register_and_login(client, "bob");
  auto reply = client.post("/api/v1/accounts",
                           object{{"username", "BOB"}, {"password", "another password"}, {"display_name", "B"}});
  EXPECT_EQ(reply.status, 409);
  EXPECT_EQ(reply.error_code(), "username_taken");
}

TEST_F(AccountsTest, LongPasswordsAreAcceptedWholeNotTruncated) {
  std::string long_password(200, 'x');
  auto reply = client.post("/api/v1/accounts",
                           object{{"username", "longpw"}, {"password", long_password}, {"display_name", "L"}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_NO_THROW(login(client, "longpw", long_password));
  // Differs only in the last character: a truncating hash would accept it.
  std::string almost = long_password.substr(0, 199) + "y";
  auto wrong = client.post("/api/v1/sessions", object{{"username", "longpw"}, {"password", almost}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.error_code(), "invalid_credentials");
}

TEST_F(AccountsTest, UnknownUserAndWrongPasswordLookTheSame) {
  register_and_login(client, "carol");
  auto wrong = client.post("/api/v1/sessions", object{{"username", "carol"}, {"password", "not her password"}});
  auto unknown = client.post("/api/v1/sessions", object{{"username", "nobody"}, {"password", "not her password"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, wrong.status);
  EXPECT_EQ(unknown.body, wrong.body);
}

TEST_F(AccountsTest, SessionsListedWithCurrentMarkerAndRevocable) {
  auto phone = register_and_login(client, "dave");
  auto laptop = login(client, "dave", phone.password, "laptop");
  auto list = client.get("/api/v1/sessions", laptop.token);
  ASSERT_EQ(list.status, 200);
  auto sessions = list.json().at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 2U);
  for (const auto& session : sessions) {
    bool is_laptop = session.at("id").as_int64() == laptop.session_id;
    EXPECT_EQ(session.at("current").as_bool(), is_laptop);
    if (is_laptop) {
      EXPECT_EQ(session.at("device_name"), "laptop");
    }
  }

  auto revoke = client.del("/api/v1/sessions/" + std::to_string(phone.session_id), laptop.token);
  EXPECT_EQ(revoke.status, 204);
  EXPECT_EQ(client.get("/api/v1/me", phone.token).status, 401);
  EXPECT_EQ(client.get("/api/v1/me", laptop.token).status, 200);
}

TEST_F(AccountsTest, AnotherUsersSessionIdIsNotFoundAndStaysValid) {
  auto erin = register_and_login(client, "erin");
  auto frank = register_and_login(client, "frank");
  auto reply = client.del("/api/v1/sessions/" + std::to_string(erin.session_id), frank.token);
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.error_code(), "not_found");
  EXPECT_EQ(client.get("/api/v1/me", erin.token).status, 200);
  EXPECT_EQ(client.del("/api/v1/sessions/not-a-number", frank.token).status, 404);
}

TEST_F(AccountsTest, LogoutInvalidatesOnlyThatToken) {
  auto first = register_and_login(client, "gina");
  auto second = login(client, "gina", first.password);
  EXPECT_EQ(client.del("/api/v1/sessions/current", first.token).status, 204);
  EXPECT_EQ(client.get("/api/v1/me", first.token).status, 401);
  EXPECT_EQ(client.get("/api/v1/me", second.token).status, 200);
}

TEST_F(AccountsTest, RevokeOthersKeepsTheCallersSession) {
  auto a = register_and_login(client, "hank");
  auto b = login(client, "hank", a.password);
  auto c = login(client, "hank", a.password);
  auto reply = client.post("/api/v1/sessions/revoke-others", object{}, b.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("revoked").as_int64(), 2);
  EXPECT_EQ(client.get("/api/v1/me", a.token).status, 401);
  EXPECT_EQ(client.get("/api/v1/me", c.token).status, 401);
  EXPECT_EQ(client.get("/api/v1/me", b.token).status, 200);
}

TEST_F(AccountsTest, ChangePasswordRevokesOtherSessions) {
  auto a = register_and_login(client, "ivan");
  auto b = login(client, "ivan", a.password);
  auto wrong = client.post("/api/v1/me/password",
                           object{{"current_password", "wrong password"}, {"new_password", "brand new secret"}}, a.token);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(client.get("/api/v1/me", b.token).status, 200);  // nothing changed

  auto ok = client.post("/api/v1/me/password",
                        object{{"current_password", a.password}, {"new_password", "brand new secret"}}, a.token);
  ASSERT_EQ(ok.status, 204) << ok.body;
  EXPECT_EQ(client.get("/api/v1/me", a.token).status, 200);
  EXPECT_EQ(client.get("/api/v1/me", b.token).status, 401);
  auto old_login = client.post("/api/v1/sessions", object{{"username", "ivan"}, {"password", a.password}});
  EXPECT_EQ(old_login.status, 401);
  EXPECT_NO_THROW(login(client, "ivan", "brand new secret"));
}

TEST_F(AccountsTest, MissingMalformedAndUnknownTokensAreUnauthorized) {
  EXPECT_EQ(client.get("/api/v1/me").status, 401);
  EXPECT_EQ(client.get("/api/v1/me", "made-up-token").error_code(), "unauthorized");
  auto basic = client.request("GET", "/api/v1/me", "", "", "", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(basic.status, 401);
}

TEST(AccountsExpiryTest, IdleSessionExpires) {
  ServerOptions options;
  options.extra_config = "[auth]\npassword_memory_kib = 19456\npassword_passes = 2\nsession_idle_timeout_seconds = 1\n";
  ServerProcess server(options);
  HttpClient client(server.port());
  auto user = register_and_login(client, "jane");
  EXPECT_EQ(client.get("/api/v1/me", user.token).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto reply = client.get("/api/v1/me", user.token);
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("expired"), std::string::npos) << reply.body;
  EXPECT_EQ(client.get("/api/v1/me", user.token).status, 401);  // deleted, stays invalid
}

}  // namespace
}  // namespace parley::test
