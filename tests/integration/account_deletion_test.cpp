// Account deletion (DELETE /api/v1/me; docs/security.md "Account deletion"):
// the password is required, sessions and sockets end at once, messages stay
// in others' conversations as from a deleted user, group membership ends as
// a leave, the username stays taken for a while, and the profile is gone
// from every stored copy.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/data_probe.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;
using Clock = std::chrono::steady_clock;

constexpr const char* kDisplayMarker = "ZEBRA-DISPLAY-7731";
constexpr const char* kStatusMarker = "ZEBRA-STATUS-9137";

Reply delete_account(const HttpClient& client, const TestUser& user, const std::string& password) {
  return client.request("DELETE", "/api/v1/me", boost::json::serialize(object{{"password", password}}), user.token);
}

struct World {
  explicit World(ServerOptions options = {}) : server(std::move(options)), client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    // Before the contacts and the group: their stored events carry it too.
    auto patched = client.patch("/api/v1/me", object{{"display_name", kDisplayMarker}, {"status_text", kStatusMarker}},
                                alice.token);
    if (patched.status != 200) throw std::runtime_error("profile update refused: " + patched.body);
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    direct = direct_conversation(client, alice, bob);
    group = create_group(client, alice, "team", {bob, carol});
  }
  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol;
  std::int64_t direct = 0;
  std::int64_t group = 0;
};

const boost::json::object* member_with_id(const boost::json::value& conversation, std::int64_t id) {
  for (const auto& member : conversation.at("members").as_array()) {
    if (member.at("user").at("id").as_int64() == id) return &member.as_object();
  }
  return nullptr;
}

TEST(AccountDeletionTest, WrongPasswordIsRefusedAndChangesNothing) {
  World w;
  auto reply = delete_account(w.client, w.alice, "not her password");
  EXPECT_EQ(reply.status, 403) << reply.body;
  EXPECT_EQ(reply.error_code(), "forbidden");
  auto missing = w.client.request("DELETE", "/api/v1/me", "{}", w.alice.token);
  EXPECT_EQ(missing.status, 422) << missing.body;
  auto anonymous = w.client.request("DELETE", "/api/v1/me", R"({"password":"x"})");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_EQ(w.client.get("/api/v1/me", w.alice.token).status, 200);
}

TEST(AccountDeletionTest, DeletionEndsSessionsAndSocketsAndLeavesMessagesAsFromADeletedUser) {
  World w;
  auto second = login(w.client, "alice", w.alice.password, "phone");
  WsClient alice_ws(w.server.port());
  alice_ws.hello(second.token);
  WsClient bob_ws(w.server.port());
  bob_ws.hello(w.bob.token);
  auto ack = alice_ws.send_message(w.direct, "c1", "a message that stays");
  ASSERT_EQ(ack.at("type"), "ack") << boost::json::serialize(ack);
  ASSERT_EQ(alice_ws.send_message(w.group, "c2", "group words stay").at("type"), "ack");

  auto reply = delete_account(w.client, w.alice, w.alice.password);
  ASSERT_EQ(reply.status, 204) << reply.body;

  // Every session ended: the open socket closes, both tokens are refused.
  EXPECT_EQ(alice_ws.wait_closed(), 4403);
  EXPECT_EQ(w.client.get("/api/v1/me", w.alice.token).status, 401);
  EXPECT_EQ(w.client.get("/api/v1/me", second.token).status, 401);
  // No login, and the name is not free.
  auto login_reply = w.client.post("/api/v1/sessions", object{{"username", "alice"}, {"password", w.alice.password}});
  EXPECT_EQ(login_reply.status, 401);
  auto again = w.client.post("/api/v1/accounts",
                             object{{"username", "alice"}, {"password", "an impostor's pw"}, {"display_name", "A"}});
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.error_code(), "username_taken");

  // The group lost her as a leave: bob hears it, and owns the group now.
  object left;
  for (int i = 0; i < 20 && !left.contains("type"); ++i) {
    auto frame = bob_ws.next_of_type("event");
    object event = frame.at("event").as_object();
    if (event.at("type") == "member.left") left = event;
  }
  ASSERT_EQ(left.at("user_id").as_int64(), w.alice.id);
  auto group = w.client.get("/api/v1/conversations/" + std::to_string(w.group), w.bob.token);
  ASSERT_EQ(group.status, 200) << group.body;
  auto group_json = group.json();
  EXPECT_EQ(member_with_id(group_json.at("conversation"), w.alice.id), nullptr);
  EXPECT_EQ(group_json.at("conversation").at("role"), "owner");
  // Contacts ended on the other side too.
  auto contacts = w.client.get("/api/v1/contacts", w.bob.token);
  ASSERT_EQ(contacts.status, 200) << contacts.body;
  EXPECT_EQ(contacts.body.find("\"id\":" + std::to_string(w.alice.id) + ","), std::string::npos) << contacts.body;

  // Her messages stay, from a user shown as deleted.
  auto direct = w.client.get("/api/v1/conversations/" + std::to_string(w.direct), w.bob.token);
  ASSERT_EQ(direct.status, 200) << direct.body;
  auto direct_json = direct.json();
  const auto* her = member_with_id(direct_json.at("conversation"), w.alice.id);
  ASSERT_NE(her, nullptr) << direct.body;
  EXPECT_EQ(her->at("user").at("display_name"), "Deleted user");
  EXPECT_EQ(her->at("user").at("status_text"), "");
  EXPECT_TRUE(her->at("user").at("deleted").as_bool());
  EXPECT_NE(her->at("user").at("username"), "alice");
  auto history = w.client.get("/api/v1/conversations/" + std::to_string(w.direct) + "/messages", w.bob.token);
  ASSERT_EQ(history.status, 200) << history.body;
  auto messages = history.json().at("messages").as_array();
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].at("text"), "a message that stays");
  EXPECT_EQ(messages[0].at("sender_id").as_int64(), w.alice.id);
  auto group_history = w.client.get("/api/v1/conversations/" + std::to_string(w.group) + "/messages", w.bob.token);
  EXPECT_NE(group_history.body.find("group words stay"), std::string::npos);

  alice_ws.drop();
  bob_ws.drop();
  ASSERT_EQ(w.server.terminate(), 0);
  // Her profile is gone from every stored copy (users row, stored events).
  EXPECT_EQ(find_in_data(w.server.data_dir(), kDisplayMarker), std::vector<std::string>{});
  EXPECT_EQ(find_in_data(w.server.data_dir(), kStatusMarker), std::vector<std::string>{});
  // The probe can find what is kept: her message, and the placeholder.
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "a message that stays").empty());
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "Deleted user").empty());
}

TEST(AccountDeletionTest, UnattachedUploadsGoAttachedOnesStay) {
  World w;
  auto upload = [&](const std::string& name, const std::string& bytes) {
    auto reply =
        w.client.request("POST", "/api/v1/media?name=" + name, bytes, w.alice.token, "application/octet-stream");
    EXPECT_TRUE(reply.status == 201 || reply.status == 200) << reply.body;
    auto json = reply.json().as_object();
    auto media = json.contains("media") ? json.at("media") : boost::json::value(json);
    return std::string(media.at("id").as_string());
  };
  auto loose = upload("LOOSE-FILE-4411.txt", "never sent anywhere");
  auto sent = upload("SENT-FILE-4412.txt", "bob received this");
  WsClient alice_ws(w.server.port());
  alice_ws.hello(w.alice.token);
  alice_ws.send(object{{"type", "send"},
                       {"conversation_id", w.direct},
                       {"client_id", "f1"},
                       {"ref", "r1"},
                       {"attachments", boost::json::array{boost::json::value(sent)}}});
  auto ack = alice_ws.next_of_type("ack");
  ASSERT_EQ(ack.at("ref"), "r1") << boost::json::serialize(ack);
  alice_ws.drop();

  ASSERT_EQ(delete_account(w.client, w.alice, w.alice.password).status, 204);
  auto received = w.client.get("/api/v1/media/" + sent, w.bob.token);
  EXPECT_EQ(received.status, 200);
  EXPECT_EQ(received.body, "bob received this");

  ASSERT_EQ(w.server.terminate(), 0);
  EXPECT_EQ(find_in_data(w.server.data_dir(), "LOOSE-FILE-4411"), std::vector<std::string>{});
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "SENT-FILE-4412").empty());
}

TEST(AccountDeletionTest, TheUsernameIsFreeAgainAfterTheReservation) {
  World w(ServerOptions{"[accounts]\ndeleted_username_reserve_seconds = 2\n", {}});
  ASSERT_EQ(delete_account(w.client, w.alice, w.alice.password).status, 204);
  object body{{"username", "alice"}, {"password", "a new alice pw"}, {"display_name", "New"}};
  auto first = w.client.post("/api/v1/accounts", body);
  EXPECT_EQ(first.status, 409) << first.body;
  // Polls until the reservation ends (a time-based rule: there is no event).
  auto deadline = Clock::now() + std::chrono::seconds(10);
  Reply reply;
  while (Clock::now() < deadline) {
    reply = w.client.post("/api/v1/accounts", body);
    if (reply.status != 409) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(reply.status, 201) << reply.body;
}

}  // namespace
}  // namespace parley::test
