// The contact graph: invitations (send, accept, decline, cancel, crossing
// invitations), contacts, blocks, who may touch which invitation, and that all
// of it, with settings and sessions, survives a restart.
#include <chrono>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Usernames in a list of {"user": {...}} entries (contacts, blocks).
std::vector<std::string> usernames(const array& entries) {
  std::vector<std::string> names;
  for (const auto& entry : entries) names.emplace_back(entry.at("user").at("username").as_string());
  return names;
}

using Names = std::vector<std::string>;

// Reads of one user's view of the graph. Each fails the test on a non-200.
array contacts_of(const HttpClient& client, const TestUser& user) {
  auto reply = client.get("/api/v1/contacts", user.token);
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json().at("contacts").as_array();
}

value invitations_of(const HttpClient& client, const TestUser& user) {
  auto reply = client.get("/api/v1/contacts/invitations", user.token);
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json();
}

array blocks_of(const HttpClient& client, const TestUser& user) {
  auto reply = client.get("/api/v1/blocks", user.token);
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json().at("blocked").as_array();
}

// Ids of the user's incoming / outgoing invitations.
std::vector<std::int64_t> invitation_ids(const value& invitations, const char* direction) {
  std::vector<std::int64_t> ids;
  for (const auto& invitation : invitations.at(direction).as_array()) ids.push_back(invitation.at("id").as_int64());
  return ids;
}

class ContactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
  }

  // `from` invites `to`; expects 201 pending and returns the invitation id.
  std::int64_t invite(const TestUser& from, const std::string& to) const {
    auto reply = client.post("/api/v1/contacts/invitations", object{{"username", to}}, from.token);
    EXPECT_EQ(reply.status, 201) << reply.body;
    if (reply.status != 201) return 0;
    auto json = reply.json();
    EXPECT_EQ(json.at("state"), "pending");
    return json.at("invitation").at("id").as_int64();
  }

  // Makes `a` and `b` contacts through an accepted invitation.
  void befriend(const TestUser& a, const TestUser& b) const {
    auto id = invite(a, b.username);
    auto reply = client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", object{}, b.token);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  Names contact_names(const TestUser& user) const { return usernames(contacts_of(client, user)); }
  Names blocked_names(const TestUser& user) const { return usernames(blocks_of(client, user)); }
  std::vector<std::int64_t> incoming(const TestUser& user) const {
    return invitation_ids(invitations_of(client, user), "incoming");
  }
  std::vector<std::int64_t> outgoing(const TestUser& user) const {
    return invitation_ids(invitations_of(client, user), "outgoing");
  }

  ServerProcess server;
  HttpClient client{server.port()};
  TestUser alice;
  TestUser bob;
};

// --- Invitations ---------------------------------------------------------------

TEST_F(ContactsTest, InviteCreatesPendingInvitationSeenByBothSides) {
  auto before = now_ms();
  auto reply = client.post("/api/v1/contacts/invitations", object{{"username", "BOB"}}, alice.token);
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto json = reply.json();
  EXPECT_EQ(json.at("state"), "pending");
  auto invitation = json.at("invitation").as_object();
  auto id = invitation.at("id").as_int64();
  EXPECT_GT(id, 0);
  EXPECT_EQ(invitation.at("to").at("username"), "bob");
  EXPECT_EQ(invitation.at("to").at("id").as_int64(), bob.id);
  EXPECT_FALSE(invitation.at("to").as_object().contains("created_at"));  // a public view
  EXPECT_GE(invitation.at("created_at").as_int64(), before - 1000);

  auto mine = invitations_of(client, alice);
  ASSERT_EQ(mine.at("outgoing").as_array().size(), 1U);
  EXPECT_TRUE(mine.at("incoming").as_array().empty());
  auto out = mine.at("outgoing").as_array()[0].as_object();
  EXPECT_EQ(out.at("id").as_int64(), id);
  EXPECT_EQ(out.at("to").at("username"), "bob");
  EXPECT_FALSE(out.contains("from"));

  auto theirs = invitations_of(client, bob);
  ASSERT_EQ(theirs.at("incoming").as_array().size(), 1U);
  EXPECT_TRUE(theirs.at("outgoing").as_array().empty());
  auto in = theirs.at("incoming").as_array()[0].as_object();
  EXPECT_EQ(in.at("id").as_int64(), id);
  EXPECT_EQ(in.at("from").at("username"), "alice");
  EXPECT_EQ(in.at("from").at("id").as_int64(), alice.id);
  EXPECT_EQ(in.at("from").at("display_name"), "User alice");
  EXPECT_FALSE(in.contains("to"));

  // Pending is not yet contact.
  EXPECT_TRUE(contact_names(alice).empty());
  EXPECT_TRUE(contact_names(bob).empty());
}

TEST_F(ContactsTest, AcceptByRecipientMakesMutualContacts) {
  auto id = invite(alice, "bob");
  auto reply = client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", object{}, bob.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto contact = reply.json().at("contact");
  EXPECT_EQ(contact.at("user").at("username"), "alice");
  EXPECT_EQ(contact.at("user").at("id").as_int64(), alice.id);
  EXPECT_GT(contact.at("since").as_int64(), 0);

  EXPECT_EQ(contact_names(alice), Names{"bob"});
  EXPECT_EQ(contact_names(bob), Names{"alice"});
  auto alice_view = contacts_of(client, alice)[0];
  EXPECT_EQ(alice_view.at("user").at("id").as_int64(), bob.id);
  EXPECT_EQ(alice_view.at("since").as_int64(), contact.at("since").as_int64());
  EXPECT_TRUE(incoming(bob).empty());
  EXPECT_TRUE(outgoing(alice).empty());

  // The invitation is used up.
  auto again = client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", object{}, bob.token);
  EXPECT_EQ(again.status, 404) << again.body;
}

TEST_F(ContactsTest, DeclineByRecipientRemovesTheInvitation) {
  auto id = invite(alice, "bob");
  auto reply = client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/decline", object{}, bob.token);
  EXPECT_EQ(reply.status, 204) << reply.body;
  EXPECT_TRUE(reply.body.empty());
  EXPECT_TRUE(incoming(bob).empty());
  EXPECT_TRUE(outgoing(alice).empty());
  EXPECT_TRUE(contact_names(alice).empty());
  EXPECT_TRUE(contact_names(bob).empty());
  EXPECT_EQ(client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", object{}, bob.token).status,
            404);
  // Declined, alice may ask again.
  EXPECT_GT(invite(alice, "bob"), 0);
}

TEST_F(ContactsTest, CancelBySenderRemovesTheInvitation) {
  auto id = invite(alice, "bob");
  auto reply = client.del("/api/v1/contacts/invitations/" + std::to_string(id), alice.token);
  EXPECT_EQ(reply.status, 204) << reply.body;
  EXPECT_TRUE(outgoing(alice).empty());
  EXPECT_TRUE(incoming(bob).empty());
  EXPECT_EQ(client.del("/api/v1/contacts/invitations/" + std::to_string(id), alice.token).status, 404);
  EXPECT_EQ(client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", object{}, bob.token).status,
            404);
  EXPECT_TRUE(contact_names(bob).empty());
}

TEST_F(ContactsTest, OnlyTheRightPartyCanActOnAnInvitation) {
  auto carol = register_and_login(client, "carol");
  auto id = invite(alice, "bob");
  std::string base = "/api/v1/contacts/invitations/" + std::to_string(id);

  auto expect_not_found = [&](const Reply& reply, const char* what) {
    EXPECT_EQ(reply.status, 404) << what << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "not_found") << what;
  };
  // A third user can do nothing with it.
  expect_not_found(client.post(base + "/accept", object{}, carol.token), "carol accepts");
  expect_not_found(client.post(base + "/decline", object{}, carol.token), "carol declines");
  expect_not_found(client.del(base, carol.token), "carol cancels");
  // The sender cannot accept or decline their own invitation...
  expect_not_found(client.post(base + "/accept", object{}, alice.token), "alice accepts her own");
  expect_not_found(client.post(base + "/decline", object{}, alice.token), "alice declines her own");
  // ...and the recipient declines rather than cancels.
  expect_not_found(client.del(base, bob.token), "bob cancels");

  EXPECT_EQ(outgoing(alice), std::vector<std::int64_t>{id});
  EXPECT_EQ(incoming(bob), std::vector<std::int64_t>{id});
  EXPECT_TRUE(invitations_of(client, carol).at("incoming").as_array().empty());
  EXPECT_TRUE(invitations_of(client, carol).at("outgoing").as_array().empty());
  EXPECT_TRUE(contact_names(alice).empty());
  EXPECT_TRUE(contact_names(bob).empty());
  EXPECT_TRUE(contact_names(carol).empty());

  // Still usable by its recipient.
  EXPECT_EQ(client.post(base + "/accept", object{}, bob.token).status, 200);
  EXPECT_EQ(contact_names(bob), Names{"alice"});
}

TEST_F(ContactsTest, InvitingSomeoneWhoInvitedYouAcceptsTheirInvitation) {
  invite(alice, "bob");
  auto reply = client.post("/api/v1/contacts/invitations", object{{"username", "alice"}}, bob.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto json = reply.json();
  EXPECT_EQ(json.at("state"), "accepted");
  EXPECT_EQ(json.at("contact").at("user").at("username"), "alice");
  EXPECT_FALSE(json.as_object().contains("invitation"));

  EXPECT_EQ(contact_names(alice), Names{"bob"});
  EXPECT_EQ(contact_names(bob), Names{"alice"});
  EXPECT_TRUE(incoming(alice).empty());
  EXPECT_TRUE(outgoing(alice).empty());
  EXPECT_TRUE(incoming(bob).empty());
  EXPECT_TRUE(outgoing(bob).empty());
}

TEST_F(ContactsTest, RepeatedInvitationsAndInvitingAContactAreConflicts) {
  auto id = invite(alice, "bob");
  auto again = client.post("/api/v1/contacts/invitations", object{{"username", "Bob"}}, alice.token);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.error_code(), "invitation_exists");
  EXPECT_EQ(outgoing(alice), std::vector<std::int64_t>{id});  // still one

  ASSERT_EQ(client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", object{}, bob.token).status,
            200);
  for (const auto& [from, to] : {std::pair{&alice, "bob"}, std::pair{&bob, "alice"}}) {
    auto reply = client.post("/api/v1/contacts/invitations", object{{"username", to}}, from->token);
    EXPECT_EQ(reply.status, 409) << reply.body;
    EXPECT_EQ(reply.error_code(), "already_contacts");
  }
  EXPECT_TRUE(outgoing(alice).empty());
  EXPECT_TRUE(outgoing(bob).empty());
}

TEST_F(ContactsTest, InvalidInvitationsAreRejected) {
  auto self = client.post("/api/v1/contacts/invitations", object{{"username", "ALICE"}}, alice.token);
  EXPECT_EQ(self.status, 422) << self.body;
  EXPECT_EQ(self.error_code(), "validation_failed");

  for (const std::string& name : std::vector<std::string>{"nobody", "b!", "9lives", std::string(40, 'z')}) {
    auto reply = client.post("/api/v1/contacts/invitations", object{{"username", name}}, alice.token);
    EXPECT_EQ(reply.status, 404) << name << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "not_found") << name;
  }

  for (const object& body : {object{}, object{{"username", 5}}, object{{"username", nullptr}},
                             object{{"username", "bob"}, {"message", "hi"}}}) {
    auto reply = client.post("/api/v1/contacts/invitations", body, alice.token);
    EXPECT_EQ(reply.status, 422) << boost::json::serialize(body) << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "validation_failed");
  }
  EXPECT_EQ(client.request("POST", "/api/v1/contacts/invitations", "{\"username\":", alice.token).status, 400);
  EXPECT_EQ(
      client.request("POST", "/api/v1/contacts/invitations", R"({"username":"bob"})", alice.token, "text/plain").status,
      415);
  EXPECT_TRUE(outgoing(alice).empty());
  EXPECT_TRUE(incoming(bob).empty());
}

TEST_F(ContactsTest, MalformedInvitationIdsAreNotFound) {
  auto id = invite(alice, "bob");
  for (const std::string raw : {"abc", "0", "-1", "1.5", "1e3", "+1", "99999999999999999999", "%20", "999999"}) {
    std::string base = "/api/v1/contacts/invitations/" + raw;
    auto accept = client.post(base + "/accept", object{}, bob.token);
    EXPECT_EQ(accept.status, 404) << raw << " -> " << accept.body;
    EXPECT_EQ(accept.error_code(), "not_found") << raw;
    EXPECT_EQ(client.post(base + "/decline", object{}, bob.token).status, 404) << raw;
    EXPECT_EQ(client.del(base, alice.token).status, 404) << raw;
  }
  EXPECT_EQ(incoming(bob), std::vector<std::int64_t>{id});
}

// --- Contacts -------------------------------------------------------------------

TEST_F(ContactsTest, ContactsAreListedByUsername) {
  auto carol = register_and_login(client, "carol");
  auto aaron = register_and_login(client, "aaron");
  befriend(alice, carol);
  befriend(aaron, alice);
  befriend(alice, bob);
  EXPECT_EQ(contact_names(alice), (Names{"aaron", "bob", "carol"}));
  EXPECT_EQ(contact_names(carol), Names{"alice"});
  EXPECT_TRUE(contact_names(register_and_login(client, "dora")).empty());
}

TEST_F(ContactsTest, RemovingAContactRemovesItForBothSides) {
  befriend(alice, bob);
  auto reply = client.del("/api/v1/contacts/BOB", alice.token);
  EXPECT_EQ(reply.status, 204) << reply.body;
  EXPECT_TRUE(contact_names(alice).empty());
  EXPECT_TRUE(contact_names(bob).empty());

  auto again = client.del("/api/v1/contacts/bob", alice.token);
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(again.error_code(), "not_found");
  EXPECT_EQ(client.del("/api/v1/contacts/alice", bob.token).status, 404);
  // No longer contacts, they may invite each other again.
  EXPECT_GT(invite(bob, "alice"), 0);
}

TEST_F(ContactsTest, RemovingANonContactIsNotFound) {
  auto carol = register_and_login(client, "carol");
  befriend(bob, carol);
  for (const std::string name : {"carol", "nobody", "alice", "x!"}) {
    auto reply = client.del("/api/v1/contacts/" + name, alice.token);
    EXPECT_EQ(reply.status, 404) << name << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "not_found");
  }
  // A pending invitation is not a contact either, and is left alone.
  auto id = invite(alice, "bob");
  EXPECT_EQ(client.del("/api/v1/contacts/bob", alice.token).status, 404);
  EXPECT_EQ(outgoing(alice), std::vector<std::int64_t>{id});
  EXPECT_EQ(contact_names(bob), Names{"carol"});
}

// --- Blocks -----------------------------------------------------------------------

TEST_F(ContactsTest, BlockRemovesContactAndInvitationsBothWays) {
  auto carol = register_and_login(client, "carol");
  befriend(alice, bob);
  // Pending invitations in each direction between alice and carol are not
  // possible at once (the second accepts the first), so use two users.
  auto dave = register_and_login(client, "dave");
  invite(alice, "carol");  // alice -> carol
  invite(dave, "alice");   // dave -> alice
  befriend(bob, carol);    // unrelated to alice: must survive

  for (const std::string name : {"bob", "CAROL", "dave"}) {
    auto reply = client.request("PUT", "/api/v1/blocks/" + name, "", alice.token);
    EXPECT_EQ(reply.status, 204) << name << " -> " << reply.body;
  }
  EXPECT_TRUE(contact_names(alice).empty());
  EXPECT_EQ(contact_names(bob), Names{"carol"});
  EXPECT_EQ(contact_names(carol), Names{"bob"});
  EXPECT_TRUE(outgoing(alice).empty());
  EXPECT_TRUE(incoming(alice).empty());
  EXPECT_TRUE(incoming(carol).empty());
  EXPECT_TRUE(outgoing(dave).empty());

  auto blocked = blocks_of(client, alice);
  EXPECT_EQ(usernames(blocked), (Names{"bob", "carol", "dave"}));
  EXPECT_GT(blocked[0].at("since").as_int64(), 0);
  EXPECT_FALSE(blocked[0].at("user").as_object().contains("created_at"));
  // Blocks are directed: the blocked see no block of their own.
  EXPECT_TRUE(blocked_names(bob).empty());
}

TEST_F(ContactsTest, BlockForbidsInvitationsInBothDirections) {
  ASSERT_EQ(client.request("PUT", "/api/v1/blocks/bob", "", alice.token).status, 204);
  auto from_blocked = client.post("/api/v1/contacts/invitations", object{{"username", "alice"}}, bob.token);
  EXPECT_EQ(from_blocked.status, 403) << from_blocked.body;
  EXPECT_EQ(from_blocked.error_code(), "blocked");
  auto from_blocker = client.post("/api/v1/contacts/invitations", object{{"username", "bob"}}, alice.token);
  EXPECT_EQ(from_blocker.status, 403) << from_blocker.body;
  EXPECT_EQ(from_blocker.error_code(), "blocked");
  EXPECT_TRUE(incoming(alice).empty());
  EXPECT_TRUE(incoming(bob).empty());
  EXPECT_TRUE(contact_names(alice).empty());
}

TEST_F(ContactsTest, BlockingTwiceIsIdempotent) {
  ASSERT_EQ(client.request("PUT", "/api/v1/blocks/bob", "", alice.token).status, 204);
  auto since = blocks_of(client, alice).at(0).at("since").as_int64();
  EXPECT_EQ(client.request("PUT", "/api/v1/blocks/bob", "", alice.token).status, 204);
  auto blocked = blocks_of(client, alice);
  ASSERT_EQ(blocked.size(), 1U);
  EXPECT_EQ(blocked[0].at("since").as_int64(), since);
}

TEST_F(ContactsTest, UnblockLiftsTheBlockOnce) {
  ASSERT_EQ(client.request("PUT", "/api/v1/blocks/bob", "", alice.token).status, 204);
  auto reply = client.del("/api/v1/blocks/Bob", alice.token);
  EXPECT_EQ(reply.status, 204) << reply.body;
  EXPECT_TRUE(blocked_names(alice).empty());
  auto again = client.del("/api/v1/blocks/bob", alice.token);
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(again.error_code(), "not_found");
  // Bob cannot lift alice's block on him (there is none of his own).
  ASSERT_EQ(client.request("PUT", "/api/v1/blocks/bob", "", alice.token).status, 204);
  EXPECT_EQ(client.del("/api/v1/blocks/alice", bob.token).status, 404);
  EXPECT_EQ(blocked_names(alice), Names{"bob"});
  ASSERT_EQ(client.del("/api/v1/blocks/bob", alice.token).status, 204);
  // Unblocked, invitations work again (the old contact is not restored).
  EXPECT_GT(invite(bob, "alice"), 0);
  EXPECT_TRUE(contact_names(alice).empty());
}

TEST_F(ContactsTest, InvalidBlockTargets) {
  auto self = client.request("PUT", "/api/v1/blocks/ALICE", "", alice.token);
  EXPECT_EQ(self.status, 422) << self.body;
  EXPECT_EQ(self.error_code(), "validation_failed");
  for (const std::string name : {"nobody", "b!", "1bob"}) {
    auto block = client.request("PUT", "/api/v1/blocks/" + name, "", alice.token);
    EXPECT_EQ(block.status, 404) << name << " -> " << block.body;
    EXPECT_EQ(block.error_code(), "not_found");
    EXPECT_EQ(client.del("/api/v1/blocks/" + name, alice.token).status, 404) << name;
  }
  EXPECT_TRUE(blocked_names(alice).empty());
}

// --- Authentication ------------------------------------------------------------------

TEST_F(ContactsTest, EveryEndpointNeedsAValidToken) {
  auto id = invite(alice, "bob");
  std::string invitation = "/api/v1/contacts/invitations/" + std::to_string(id);
  struct Call {
    std::string method, target, body;
  };
  const std::vector<Call> calls = {
      {"POST", "/api/v1/contacts/invitations", R"({"username":"bob"})"},
      {"POST", "/api/v1/contacts/invitations", "not json"},
      {"GET", "/api/v1/contacts/invitations", ""},
      {"POST", invitation + "/accept", "{}"},
      {"POST", invitation + "/decline", "{}"},
      {"DELETE", invitation, ""},
      {"POST", "/api/v1/contacts/invitations/abc/accept", "{}"},
      {"GET", "/api/v1/contacts", ""},
      {"DELETE", "/api/v1/contacts/bob", ""},
      {"GET", "/api/v1/blocks", ""},
      {"PUT", "/api/v1/blocks/bob", ""},
      {"DELETE", "/api/v1/blocks/bob", ""},
  };
  for (const auto& call : calls) {
    for (const std::string token : {"", "not-a-real-token"}) {
      auto reply = client.request(call.method, call.target, call.body, token);
      EXPECT_EQ(reply.status, 401) << call.method << " " << call.target << " token='" << token << "' -> " << reply.body;
      EXPECT_EQ(reply.error_code(), "unauthorized") << call.method << " " << call.target;
    }
  }
  EXPECT_EQ(incoming(bob), std::vector<std::int64_t>{id});
  EXPECT_TRUE(blocked_names(alice).empty());
}

// --- Persistence ------------------------------------------------------------------------

struct GraphFixture {
  TestUser alice, bob, carol, dave;
  std::int64_t pending_id = 0;
  std::int64_t mute_until = 0;
  std::int64_t muted_conversation = 0;
};

// alice+bob are contacts, carol invited alice, alice blocked dave, and alice
// changed her profile, settings and muted conversation 7.
GraphFixture build_graph(const HttpClient& client) {
  GraphFixture g;
  g.alice = register_and_login(client, "alice");
  g.bob = register_and_login(client, "bob");
  g.carol = register_and_login(client, "carol");
  g.dave = register_and_login(client, "dave");
  auto invite = [&](const TestUser& from, const char* to) {
    auto reply = client.post("/api/v1/contacts/invitations", object{{"username", to}}, from.token);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json().at("invitation").at("id").as_int64();
  };
  auto first = invite(g.alice, "bob");
  EXPECT_EQ(client.post("/api/v1/contacts/invitations/" + std::to_string(first) + "/accept", object{}, g.bob.token)
                .status,
            200);
  g.pending_id = invite(g.carol, "alice");
  EXPECT_EQ(client.request("PUT", "/api/v1/blocks/dave", "", g.alice.token).status, 204);
  EXPECT_EQ(client.patch("/api/v1/me", object{{"display_name", "Alice Persisted"}, {"status_text", "still here"}},
                         g.alice.token)
                .status,
            200);
  EXPECT_EQ(client.patch("/api/v1/me/settings", object{{"last_seen_visibility", "nobody"}, {"notifications_enabled", false}},
                         g.alice.token)
                .status,
            200);
  g.mute_until = now_ms() + 86'400'000;
  g.muted_conversation = create_group(client, g.alice, "muted", {});
  EXPECT_EQ(client.put("/api/v1/me/settings/mutes/" + std::to_string(g.muted_conversation),
                       object{{"muted_until", g.mute_until}}, g.alice.token)
                .status,
            200);
  return g;
}

void expect_graph(const HttpClient& client, const GraphFixture& g) {
  for (const auto* user : {&g.alice, &g.bob, &g.carol, &g.dave}) {
    auto me = client.get("/api/v1/me", user->token);
    ASSERT_EQ(me.status, 200) << user->username << " token no longer valid: " << me.body;
    EXPECT_EQ(me.json().at("user").at("id").as_int64(), user->id);
  }
  auto me = client.get("/api/v1/me", g.alice.token).json().at("user");
  EXPECT_EQ(me.at("display_name"), "Alice Persisted");
  EXPECT_EQ(me.at("status_text"), "still here");

  auto settings = client.get("/api/v1/me/settings", g.alice.token).json().at("settings");
  EXPECT_EQ(settings.at("last_seen_visibility"), "nobody");
  EXPECT_EQ(settings.at("notifications_enabled"), false);
  auto mutes = settings.at("conversation_mutes").as_array();
  ASSERT_EQ(mutes.size(), 1U);
  EXPECT_EQ(mutes[0].at("conversation_id").as_int64(), g.muted_conversation);
  EXPECT_EQ(mutes[0].at("muted_until").as_int64(), g.mute_until);

  EXPECT_EQ(usernames(contacts_of(client, g.alice)), Names{"bob"});
  EXPECT_EQ(usernames(contacts_of(client, g.bob)), Names{"alice"});
  EXPECT_EQ(invitation_ids(invitations_of(client, g.alice), "incoming"), std::vector<std::int64_t>{g.pending_id});
  EXPECT_EQ(invitation_ids(invitations_of(client, g.carol), "outgoing"), std::vector<std::int64_t>{g.pending_id});
  EXPECT_EQ(usernames(blocks_of(client, g.alice)), Names{"dave"});
  auto blocked = client.post("/api/v1/contacts/invitations", object{{"username", "alice"}}, g.dave.token);
  EXPECT_EQ(blocked.error_code(), "blocked") << blocked.body;

  // The old data is not only readable but still usable.
  auto accept = client.post("/api/v1/contacts/invitations/" + std::to_string(g.pending_id) + "/accept", object{},
                            g.alice.token);
  EXPECT_EQ(accept.status, 200) << accept.body;
  EXPECT_EQ(usernames(contacts_of(client, g.alice)), (Names{"bob", "carol"}));
}

TEST(ContactsPersistenceTest, EverythingSurvivesACleanRestart) {
  ServerProcess server;
  GraphFixture graph;
  {
    HttpClient client(server.port());
    graph = build_graph(client);
    ASSERT_FALSE(HasFailure());
  }
  int status = server.terminate();
  ASSERT_NE(status, -1) << "parleyd did not exit on SIGTERM\n" << server.log();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();

  server.start();
  HttpClient client(server.port());
  expect_graph(client, graph);
}

// Every acknowledged write is committed: a crash right after loses nothing.
TEST(ContactsPersistenceTest, AcknowledgedWritesSurviveAKill) {
  ServerProcess server;
  GraphFixture graph;
  {
    HttpClient client(server.port());
    graph = build_graph(client);
    ASSERT_FALSE(HasFailure());
  }
  server.kill9();
  server.start();
  HttpClient client(server.port());
  expect_graph(client, graph);
}

}  // namespace
}  // namespace parley::test
