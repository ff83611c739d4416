// Conversations over REST: direct conversations between contacts, groups
// (creation, rename and topic, members, roles, leaving with the hand-over of
// ownership), the conversation list (order, last message, unread counts,
// peer) and history paging. Every refusal is checked to change nothing.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

std::string conversation_path(std::int64_t id) { return "/api/v1/conversations/" + std::to_string(id); }
std::string members_path(std::int64_t id) { return conversation_path(id) + "/members"; }
std::string member_path(std::int64_t id, std::int64_t user) { return members_path(id) + "/" + std::to_string(user); }

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

// The role of `user` in a full conversation view, "" if not a member.
std::string role_in(const value& conversation, std::int64_t user) {
  for (const auto& member : conversation.at("members").as_array()) {
    if (member.at("user").at("id").as_int64() == user) return std::string(member.at("role").as_string());
  }
  return "";
}

std::vector<std::string> member_names(const value& conversation) {
  std::vector<std::string> names;
  for (const auto& member : conversation.at("members").as_array()) {
    names.emplace_back(member.at("user").at("username").as_string());
  }
  return names;
}

std::vector<std::int64_t> seqs_of(const value& page) {
  std::vector<std::int64_t> seqs;
  for (const auto& message : page.at("messages").as_array()) seqs.push_back(message.at("seq").as_int64());
  return seqs;
}

// The text of the `i`th message of a history page, "" if there is none.
std::string text_at(const value& page, std::size_t i) {
  const auto& messages = page.at("messages").as_array();
  return i < messages.size() ? std::string(messages[i].at("text").as_string()) : "";
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> seqs;
  for (auto s = first; s <= last; ++s) seqs.push_back(s);
  return seqs;
}

class ConversationsTest : public ::testing::Test {
 protected:
  // GET one conversation; expects 200 and returns the "conversation" object.
  value conversation(std::int64_t id, const TestUser& as) const {
    auto reply = client.get(conversation_path(id), as.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    if (reply.status != 200) return object{{"members", array{}}};
    return reply.json().at("conversation");
  }

  // GET /api/v1/conversations; expects 200.
  array list(const TestUser& as) const {
    auto reply = client.get("/api/v1/conversations", as.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    if (reply.status != 200) return {};
    return reply.json().at("conversations").as_array();
  }

  // The list entry of conversation `id`, if listed.
  std::optional<value> listed(const TestUser& as, std::int64_t id) const {
    for (const auto& item : list(as)) {
      if (item.at("id").as_int64() == id) return item;
    }
    return std::nullopt;
  }

  std::vector<std::int64_t> listed_ids(const TestUser& as) const {
    std::vector<std::int64_t> ids;
    for (const auto& item : list(as)) ids.push_back(item.at("id").as_int64());
    return ids;
  }

  // The conversation as raw text, to see that a refused request changed
  // nothing at all.
  std::string snapshot(std::int64_t id, const TestUser& as) const { return client.get(conversation_path(id), as.token).body; }

  value history(std::int64_t id, const TestUser& as, const std::string& query = "") const {
    auto reply = client.get(conversation_path(id) + "/messages" + query, as.token);
    EXPECT_EQ(reply.status, 200) << query << " " << reply.body;
    if (reply.status != 200) return object{{"messages", array{}}, {"has_more", false}};
    return reply.json();
  }

  static void expect_error(const Reply& reply, int status, const std::string& code, const std::string& what) {
    EXPECT_EQ(reply.status, status) << what << ": " << reply.body;
    EXPECT_EQ(reply.error_code(), code) << what << ": " << reply.body;
  }

  Reply set_role(std::int64_t group, const TestUser& target, const std::string& role, const TestUser& as) const {
    return client.patch(member_path(group, target.id), object{{"role", role}}, as.token);
  }

  Reply add(std::int64_t group, const std::string& username, const TestUser& as) const {
    return client.post(members_path(group), object{{"username", username}}, as.token);
  }

  ServerProcess server;
  HttpClient client{server.port()};
};

// --- Direct conversations -------------------------------------------------

TEST_F(ConversationsTest, DirectConversationIsCreatedOnceAndSharedByBothSides) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  make_contacts(client, alice, bob);

  auto first = client.post("/api/v1/conversations/direct", object{{"username", "bob"}}, alice.token);
  ASSERT_EQ(first.status, 201) << first.body;
  auto created = first.json().at("conversation");
  auto id = created.at("id").as_int64();
  EXPECT_EQ(created.at("kind"), "direct");
  EXPECT_EQ(created.at("last_seq").as_int64(), 0);
  EXPECT_EQ(created.at("created_by").as_int64(), alice.id);
  EXPECT_EQ(role_in(created, alice.id), "member");
  EXPECT_EQ(role_in(created, bob.id), "member");
  EXPECT_EQ(created.at("members").as_array().size(), 2U);

  auto again = client.post("/api/v1/conversations/direct", object{{"username", "bob"}}, alice.token);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json().at("conversation").at("id").as_int64(), id);

  // From the other side, and with the username in another case.
  auto other_side = client.post("/api/v1/conversations/direct", object{{"username", "Alice"}}, bob.token);
  ASSERT_EQ(other_side.status, 200) << other_side.body;
  EXPECT_EQ(other_side.json().at("conversation").at("id").as_int64(), id);

  EXPECT_EQ(listed_ids(alice), std::vector<std::int64_t>{id});
  EXPECT_EQ(listed_ids(bob), std::vector<std::int64_t>{id});
  EXPECT_EQ(conversation(id, bob).at("role"), "member");
}

TEST_F(ConversationsTest, DirectConversationRefusals) {
  auto alice = register_and_login(client, "alice");
  auto stranger = register_and_login(client, "stranger");
  auto blocked = register_and_login(client, "blocked");
  auto blocker = register_and_login(client, "blocker");
  make_contacts(client, alice, blocked);
  make_contacts(client, alice, blocker);
  // alice blocks one contact; another contact blocks alice.
  ASSERT_EQ(client.put("/api/v1/blocks/blocked", object{}, alice.token).status, 204);
  ASSERT_EQ(client.put("/api/v1/blocks/alice", object{}, blocker.token).status, 204);

  auto direct = [&](const TestUser& from, const std::string& to) {
    return client.post("/api/v1/conversations/direct", object{{"username", to}}, from.token);
  };
  expect_error(direct(alice, "stranger"), 403, "forbidden", "not a contact");
  expect_error(direct(stranger, "alice"), 403, "forbidden", "not a contact, other side");
  expect_error(direct(alice, "blocked"), 403, "blocked", "blocker asks");
  expect_error(direct(blocked, "alice"), 403, "blocked", "blocked asks");
  expect_error(direct(alice, "blocker"), 403, "blocked", "blocked asks (other block)");
  expect_error(direct(blocker, "alice"), 403, "blocked", "blocker asks (other block)");
  expect_error(direct(alice, "alice"), 422, "validation_failed", "self");
  expect_error(direct(alice, "nobody"), 404, "not_found", "unknown user");
  expect_error(client.post("/api/v1/conversations/direct", object{}, alice.token), 422, "validation_failed",
               "no username");

  for (const auto* user : {&alice, &stranger, &blocked, &blocker}) {
    EXPECT_TRUE(list(*user).empty()) << user->username << " got a conversation from a refused request";
  }
}

// --- Groups ---------------------------------------------------------------

TEST_F(ConversationsTest, GroupCreationValidatesAndMakesTheCreatorOwner) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  auto stranger = register_and_login(client, "stranger");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  const std::string groups = "/api/v1/conversations/groups";

  expect_error(client.post(groups, object{{"members", array{"bob"}}}, alice.token), 422, "validation_failed",
               "no name");
  expect_error(client.post(groups, object{{"name", ""}}, alice.token), 422, "validation_failed", "empty name");
  expect_error(client.post(groups, object{{"name", "   "}}, alice.token), 422, "validation_failed", "blank name");
  expect_error(client.post(groups, object{{"name", repeat('n', 65)}}, alice.token), 422, "validation_failed",
               "65-char name");
  expect_error(client.post(groups, object{{"name", "ok"}, {"topic", repeat('t', 257)}}, alice.token), 422,
               "validation_failed", "257-char topic");
  expect_error(client.post(groups, object{{"name", "ok"}, {"members", array{"bob", "stranger"}}}, alice.token), 422,
               "validation_failed", "a member who is not a contact");
  EXPECT_TRUE(list(alice).empty()) << "a refused creation made a group";
  EXPECT_TRUE(list(bob).empty()) << "a refused creation made a group";

  // The limits themselves are allowed; the creator in the list is ignored.
  auto reply = client.post(groups,
                           object{{"name", repeat('n', 64)},
                                  {"topic", repeat('t', 256)},
                                  {"members", array{"bob", "carol", "alice", "bob"}}},
                           alice.token);
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto created = reply.json().at("conversation");
  auto id = created.at("id").as_int64();
  EXPECT_EQ(created.at("kind"), "group");
  EXPECT_EQ(created.at("name"), value(repeat('n', 64)));
  EXPECT_EQ(created.at("topic"), value(repeat('t', 256)));
  EXPECT_EQ(created.at("role"), "owner");

  auto seen = conversation(id, bob);
  EXPECT_EQ(seen.at("role"), "member");
  EXPECT_EQ(seen.at("name"), value(repeat('n', 64)));
  EXPECT_EQ(seen.at("members").as_array().size(), 3U);
  EXPECT_EQ(role_in(seen, alice.id), "owner");
  EXPECT_EQ(role_in(seen, bob.id), "member");
  EXPECT_EQ(role_in(seen, carol.id), "member");
  EXPECT_EQ(listed_ids(carol), std::vector<std::int64_t>{id});
  EXPECT_EQ(client.get(conversation_path(id), stranger.token).status, 404);
}

// --- The conversation list ------------------------------------------------

TEST_F(ConversationsTest, ListShowsActivityOrderLastMessageUnreadCountsAndPeer) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  auto direct = direct_conversation(client, alice, bob);
  auto group = create_group(client, alice, "team", {bob, carol});

  // The group was created last: it is first.
  EXPECT_EQ(listed_ids(bob), (std::vector<std::int64_t>{group, direct}));

  WsClient a(server.port()), b(server.port());
  a.hello(alice.token, 0);
  b.hello(bob.token, 0);
  for (int i = 1; i <= 3; ++i) {
    auto ack = a.send_message(direct, "d-" + std::to_string(i), "direct " + std::to_string(i));
    ASSERT_EQ(ack.at("type"), "ack") << boost::json::serialize(ack);
  }

  auto bob_direct = listed(bob, direct);
  auto bob_group = listed(bob, group);
  ASSERT_TRUE(bob_direct && bob_group);
  EXPECT_EQ(listed_ids(bob), (std::vector<std::int64_t>{direct, group}));
  EXPECT_EQ(bob_direct->at("kind"), "direct");
  EXPECT_EQ(bob_direct->at("unread_count").as_int64(), 3);
  EXPECT_EQ(bob_direct->at("last_message").at("text"), "direct 3");
  EXPECT_EQ(bob_direct->at("last_message").at("seq").as_int64(), 3);
  EXPECT_EQ(bob_direct->at("peer").at("username"), "alice");
  EXPECT_EQ(bob_direct->at("peer").at("id").as_int64(), alice.id);
  EXPECT_EQ(bob_direct->at("member_count").as_int64(), 2);
  EXPECT_EQ(bob_group->at("unread_count").as_int64(), 0);
  EXPECT_TRUE(bob_group->at("last_message").is_null());
  EXPECT_FALSE(bob_group->as_object().contains("peer"));
  EXPECT_EQ(bob_group->at("member_count").as_int64(), 3);
  EXPECT_EQ(bob_group->at("role"), "member");
  // The sender's own messages are not unread.
  EXPECT_EQ(listed(alice, direct)->at("unread_count").as_int64(), 0);
  EXPECT_EQ(listed(alice, direct)->at("peer").at("username"), "bob");

  // A newer message in the group puts it first, for everyone in it.
  ASSERT_EQ(b.send_message(group, "g-1", "group 1").at("type"), "ack");
  EXPECT_EQ(listed_ids(bob), (std::vector<std::int64_t>{group, direct}));
  EXPECT_EQ(listed_ids(alice), (std::vector<std::int64_t>{group, direct}));
  EXPECT_EQ(listed(bob, group)->at("unread_count").as_int64(), 0);
  EXPECT_EQ(listed(alice, group)->at("unread_count").as_int64(), 1);
  EXPECT_EQ(listed(carol, group)->at("unread_count").as_int64(), 1);
  EXPECT_EQ(listed(carol, group)->at("last_message").at("text"), "group 1");

  // Read receipts over WebSocket bring the count down.
  b.send(object{{"type", "read"}, {"conversation_id", direct}, {"seq", 2}, {"ref", "r1"}});
  auto ok = b.next_of_type("ok");
  EXPECT_EQ(ok.at("ref"), "r1");
  EXPECT_EQ(listed(bob, direct)->at("unread_count").as_int64(), 1);
  EXPECT_EQ(listed(bob, direct)->at("read_seq").as_int64(), 2);
  b.send(object{{"type", "read"}, {"conversation_id", direct}, {"seq", 3}, {"ref", "r2"}});
  EXPECT_EQ(b.next_of_type("ok").at("ref"), "r2");
  EXPECT_EQ(listed(bob, direct)->at("unread_count").as_int64(), 0);
  // Someone else's receipt does not change alice's count.
  EXPECT_EQ(listed(alice, group)->at("unread_count").as_int64(), 1);
}

// --- Rename and topic -----------------------------------------------------

TEST_F(ConversationsTest, RenameAndTopicNeedAnAdminOfAGroup) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  auto group = create_group(client, alice, "team", {bob, carol});
  ASSERT_EQ(set_role(group, bob, "admin", alice).status, 204);

  auto by_owner = client.patch(conversation_path(group), object{{"name", "renamed"}}, alice.token);
  ASSERT_EQ(by_owner.status, 200) << by_owner.body;
  EXPECT_EQ(by_owner.json().at("conversation").at("name"), "renamed");
  auto by_admin = client.patch(conversation_path(group), object{{"topic", "the topic"}}, bob.token);
  ASSERT_EQ(by_admin.status, 200) << by_admin.body;
  EXPECT_EQ(by_admin.json().at("conversation").at("topic"), "the topic");
  EXPECT_EQ(by_admin.json().at("conversation").at("name"), "renamed");  // untouched

  auto before = snapshot(group, alice);
  expect_error(client.patch(conversation_path(group), object{{"name", "mine now"}}, carol.token), 403, "forbidden",
               "member renames");
  expect_error(client.patch(conversation_path(group), object{{"topic", "mine"}}, carol.token), 403, "forbidden",
               "member sets topic");
  expect_error(client.patch(conversation_path(group), object{{"name", repeat('n', 65)}}, alice.token), 422,
               "validation_failed", "65-char name");
  expect_error(client.patch(conversation_path(group), object{{"name", ""}}, alice.token), 422, "validation_failed",
               "empty name");
  expect_error(client.patch(conversation_path(group), object{{"topic", repeat('t', 257)}}, alice.token), 422,
               "validation_failed", "257-char topic");
  EXPECT_EQ(snapshot(group, alice), before);
  auto seen = conversation(group, carol);
  EXPECT_EQ(seen.at("name"), "renamed");
  EXPECT_EQ(seen.at("topic"), "the topic");

  // A direct conversation has no name or topic, whoever asks.
  auto direct = direct_conversation(client, alice, bob);
  auto direct_before = snapshot(direct, alice);
  expect_error(client.patch(conversation_path(direct), object{{"name", "us"}}, alice.token), 403, "forbidden",
               "rename a direct conversation");
  expect_error(client.patch(conversation_path(direct), object{{"topic", "us"}}, bob.token), 403, "forbidden",
               "topic of a direct conversation");
  EXPECT_EQ(snapshot(direct, alice), direct_before);
}

// --- Members --------------------------------------------------------------

TEST_F(ConversationsTest, AddMemberNeedsAnAdminAndTheAddersContact) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  auto dave = register_and_login(client, "dave");
  auto erin = register_and_login(client, "erin");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  make_contacts(client, bob, dave);   // dave: bob's contact, not alice's
  make_contacts(client, carol, erin);  // erin: carol's contact only
  auto group = create_group(client, alice, "team", {bob, carol});
  ASSERT_EQ(set_role(group, bob, "admin", alice).status, 204);
  WsClient a(server.port());
  a.hello(alice.token, 0);
  ASSERT_EQ(a.send_message(group, "before-1", "said before dave joined").at("type"), "ack");

  auto before = snapshot(group, alice);
  expect_error(add(group, "erin", carol), 403, "forbidden", "a member adds their contact");
  expect_error(add(group, "dave", alice), 403, "forbidden", "owner adds someone who is not their contact");
  expect_error(add(group, "nobody", alice), 404, "not_found", "unknown user");
  expect_error(add(group, "carol", alice), 409, "conflict", "already a member");
  expect_error(add(group, "alice", bob), 409, "conflict", "the owner is already a member");
  EXPECT_EQ(snapshot(group, alice), before);
  EXPECT_TRUE(list(dave).empty());
  EXPECT_TRUE(list(erin).empty());

  auto added = add(group, "dave", bob);  // an admin adds their own contact
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(role_in(added.json().at("conversation"), dave.id), "member");
  expect_error(add(group, "dave", alice), 409, "conflict", "added twice");

  EXPECT_EQ(listed_ids(dave), std::vector<std::int64_t>{group});
  auto seen = conversation(group, dave);
  EXPECT_EQ(seen.at("role"), "member");
  EXPECT_EQ(member_names(seen), (std::vector<std::string>{"alice", "bob", "carol", "dave"}));
  // History from before they joined is readable.
  auto page = history(group, dave);
  ASSERT_EQ(page.at("messages").as_array().size(), 1U);
  EXPECT_EQ(page.at("messages").at(0).at("text"), "said before dave joined");
}

TEST_F(ConversationsTest, RemoveMemberNeedsAHigherRole) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  auto dave = register_and_login(client, "dave");
  auto erin = register_and_login(client, "erin");
  for (const auto* user : {&bob, &carol, &dave, &erin}) make_contacts(client, alice, *user);
  auto group = create_group(client, alice, "team", {bob, carol, dave, erin});
  ASSERT_EQ(set_role(group, bob, "admin", alice).status, 204);
  ASSERT_EQ(set_role(group, carol, "admin", alice).status, 204);
  auto remove = [&](const TestUser& target, const TestUser& as) {
    return client.del(member_path(group, target.id), as.token);
  };

  auto before = snapshot(group, alice);
  expect_error(remove(erin, dave), 403, "forbidden", "member removes member");
  expect_error(remove(bob, dave), 403, "forbidden", "member removes admin");
  expect_error(remove(alice, dave), 403, "forbidden", "member removes owner");
  expect_error(remove(carol, bob), 403, "forbidden", "admin removes admin");
  expect_error(remove(alice, bob), 403, "forbidden", "admin removes owner");
  expect_error(remove(bob, bob), 422, "validation_failed", "admin removes themselves");
  expect_error(remove(dave, dave), 422, "validation_failed", "member removes themselves");
  expect_error(remove(alice, alice), 422, "validation_failed", "owner removes themselves");
  expect_error(client.del(member_path(group, 999999), alice.token), 404, "not_found", "unknown user");
  EXPECT_EQ(snapshot(group, alice), before);

  EXPECT_EQ(remove(dave, bob).status, 204);    // admin removes member
  EXPECT_EQ(remove(carol, alice).status, 204);  // owner removes admin
  EXPECT_EQ(remove(erin, alice).status, 204);   // owner removes member
  expect_error(remove(dave, alice), 404, "not_found", "no longer a member");

  auto seen = conversation(group, alice);
  EXPECT_EQ(member_names(seen), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(role_in(seen, bob.id), "admin");
  for (const auto* gone : {&carol, &dave, &erin}) {
    EXPECT_EQ(client.get(conversation_path(group), gone->token).status, 404) << gone->username;
    EXPECT_TRUE(list(*gone).empty()) << gone->username;
  }
}

TEST_F(ConversationsTest, OnlyTheOwnerChangesRoles) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  auto group = create_group(client, alice, "team", {bob, carol});

  auto before = snapshot(group, alice);
  expect_error(set_role(group, carol, "admin", bob), 403, "forbidden", "member promotes");
  expect_error(set_role(group, bob, "owner", bob), 403, "forbidden", "member promotes themselves");
  expect_error(set_role(group, alice, "owner", alice), 403, "forbidden", "owner changes own role");
  expect_error(set_role(group, alice, "member", alice), 403, "forbidden", "owner demotes themselves");
  expect_error(set_role(group, bob, "superuser", alice), 422, "validation_failed", "unknown role");
  expect_error(client.patch(member_path(group, bob.id), object{}, alice.token), 422, "validation_failed", "no role");
  expect_error(client.patch(member_path(group, 999999), object{{"role", "admin"}}, alice.token), 404, "not_found",
               "unknown member");
  EXPECT_EQ(snapshot(group, alice), before);

  ASSERT_EQ(set_role(group, bob, "admin", alice).status, 204);
  EXPECT_EQ(role_in(conversation(group, carol), bob.id), "admin");
  // An admin is not an owner.
  expect_error(set_role(group, carol, "admin", bob), 403, "forbidden", "admin promotes");
  expect_error(set_role(group, alice, "member", bob), 403, "forbidden", "admin demotes the owner");
  EXPECT_EQ(role_in(conversation(group, alice), carol.id), "member");
  EXPECT_EQ(role_in(conversation(group, alice), alice.id), "owner");

  ASSERT_EQ(set_role(group, bob, "member", alice).status, 204);
  EXPECT_EQ(role_in(conversation(group, alice), bob.id), "member");
}

// --- Leaving --------------------------------------------------------------

TEST_F(ConversationsTest, MemberWhoLeavesLosesTheConversation) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  auto group = create_group(client, alice, "team", {bob, carol});
  auto leave = [&](std::int64_t id, const TestUser& as) {
    return client.post(conversation_path(id) + "/leave", object{}, as.token);
  };

  ASSERT_EQ(leave(group, carol).status, 204);
  EXPECT_TRUE(list(carol).empty());
  expect_error(client.get(conversation_path(group), carol.token), 404, "not_found", "GET after leaving");
  expect_error(client.get(conversation_path(group) + "/messages", carol.token), 404, "not_found",
               "history after leaving");
  expect_error(leave(group, carol), 404, "not_found", "leave twice");
  auto seen = conversation(group, alice);
  EXPECT_EQ(member_names(seen), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(role_in(seen, alice.id), "owner");  // a member leaving hands nothing over

  // A direct conversation cannot be left.
  auto direct = direct_conversation(client, alice, bob);
  expect_error(leave(direct, bob), 403, "forbidden", "leave a direct conversation");
  EXPECT_EQ(conversation(direct, alice).at("members").as_array().size(), 2U);
}

TEST_F(ConversationsTest, LastOwnerLeavingHandsOwnershipToTheLongestStandingAdmin) {
  auto alice = register_and_login(client, "alice");
  auto carol = register_and_login(client, "carol");
  auto dave = register_and_login(client, "dave");
  auto erin = register_and_login(client, "erin");
  for (const auto* user : {&carol, &dave, &erin}) make_contacts(client, alice, *user);
  // carol joined first but stays a member; erin joined before dave; dave was
  // promoted first and has the lower id. erin is the heir.
  auto group = create_group(client, alice, "team", {carol});
  ASSERT_EQ(add(group, "erin", alice).status, 201);
  ASSERT_EQ(add(group, "dave", alice).status, 201);
  ASSERT_EQ(set_role(group, dave, "admin", alice).status, 204);
  ASSERT_EQ(set_role(group, erin, "admin", alice).status, 204);

  ASSERT_EQ(client.post(conversation_path(group) + "/leave", object{}, alice.token).status, 204);
  auto seen = conversation(group, carol);
  EXPECT_EQ(role_in(seen, alice.id), "");
  EXPECT_EQ(role_in(seen, erin.id), "owner");
  EXPECT_EQ(role_in(seen, dave.id), "admin");
  EXPECT_EQ(role_in(seen, carol.id), "member");
  // The heir can act as the owner.
  EXPECT_EQ(set_role(group, carol, "admin", erin).status, 204);
}

TEST_F(ConversationsTest, LastOwnerLeavingWithoutAdminsHandsOwnershipToTheLongestStandingMember) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto carol = register_and_login(client, "carol");
  make_contacts(client, alice, bob);
  make_contacts(client, alice, carol);
  // carol was there from the start; bob (the lower id) joined later.
  auto group = create_group(client, alice, "team", {carol});
  ASSERT_EQ(add(group, "bob", alice).status, 201);

  ASSERT_EQ(client.post(conversation_path(group) + "/leave", object{}, alice.token).status, 204);
  auto seen = conversation(group, bob);
  EXPECT_EQ(member_names(seen), (std::vector<std::string>{"carol", "bob"}));
  EXPECT_EQ(role_in(seen, carol.id), "owner");
  EXPECT_EQ(role_in(seen, bob.id), "member");
}

// --- History --------------------------------------------------------------

TEST_F(ConversationsTest, HistoryPagesBackwardsAndForwards) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  make_contacts(client, alice, bob);
  auto direct = direct_conversation(client, alice, bob);
  WsClient a(server.port());
  a.hello(alice.token, 0);
  for (int i = 1; i <= 25; ++i) {
    auto ack = a.send_message(direct, "h-" + std::to_string(i), "message " + std::to_string(i));
    ASSERT_EQ(ack.at("type"), "ack") << boost::json::serialize(ack);
    ASSERT_EQ(ack.at("seq").as_int64(), i);
  }

  // Backwards from the newest.
  auto newest = history(direct, bob, "?limit=10");
  EXPECT_EQ(seqs_of(newest), range(16, 25));
  EXPECT_TRUE(newest.at("has_more").as_bool());
  EXPECT_EQ(text_at(newest, 9), "message 25");
  auto middle = history(direct, bob, "?limit=10&before=16");
  EXPECT_EQ(seqs_of(middle), range(6, 15));
  EXPECT_TRUE(middle.at("has_more").as_bool());
  auto oldest = history(direct, bob, "?limit=10&before=6");
  EXPECT_EQ(seqs_of(oldest), range(1, 5));
  EXPECT_FALSE(oldest.at("has_more").as_bool());
  EXPECT_EQ(text_at(oldest, 0), "message 1");

  // Forwards from the start.
  auto first = history(direct, bob, "?limit=10&after=0");
  EXPECT_EQ(seqs_of(first), range(1, 10));
  EXPECT_TRUE(first.at("has_more").as_bool());
  auto second = history(direct, bob, "?limit=10&after=10");
  EXPECT_EQ(seqs_of(second), range(11, 20));
  EXPECT_TRUE(second.at("has_more").as_bool());
  auto last = history(direct, bob, "?limit=10&after=20");
  EXPECT_EQ(seqs_of(last), range(21, 25));
  EXPECT_FALSE(last.at("has_more").as_bool());
  auto beyond = history(direct, bob, "?after=25");
  EXPECT_TRUE(seqs_of(beyond).empty());
  EXPECT_FALSE(beyond.at("has_more").as_bool());

  // A page exactly as long as what is left has no more.
  auto exact = history(direct, bob, "?limit=5&before=6");
  EXPECT_EQ(seqs_of(exact), range(1, 5));
  EXPECT_FALSE(exact.at("has_more").as_bool());
  // The default page (50) and the largest page (200) hold everything.
  auto all = history(direct, bob);
  EXPECT_EQ(seqs_of(all), range(1, 25));
  EXPECT_FALSE(all.at("has_more").as_bool());
  EXPECT_EQ(seqs_of(history(direct, alice, "?limit=200")), range(1, 25));
  EXPECT_EQ(seqs_of(history(direct, bob, "?limit=1")), range(25, 25));
}

TEST_F(ConversationsTest, HistoryRejectsBadPagingParameters) {
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  make_contacts(client, alice, bob);
  auto direct = direct_conversation(client, alice, bob);
  for (const std::string query : {"?limit=0", "?limit=201", "?limit=-1", "?limit=ten", "?limit=", "?limit=1.5",
                                  "?before=-1", "?after=x", "?before=5&after=2", "?after=0&before=10"}) {
    auto reply = client.get(conversation_path(direct) + "/messages" + query, alice.token);
    EXPECT_EQ(reply.status, 422) << query << ": " << reply.body;
    EXPECT_EQ(reply.error_code(), "validation_failed") << query;
  }
  EXPECT_EQ(client.get(conversation_path(direct) + "/messages?limit=200", alice.token).status, 200);
}

}  // namespace
}  // namespace parley::test
