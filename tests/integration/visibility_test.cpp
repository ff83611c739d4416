// Message visibility and deletion, black box (docs/protocol.md, Visibility;
// docs/security.md, Message visibility and deletion):
//   - a member whose membership ended (removed, or left) and whose device
//     resumes from before the end sees each message as it was when the
//     membership ended: no later edit, mention or reaction, however long
//     after the device comes back;
//   - deleting a message deletes its content from every stored copy: a
//     resume shows only a tombstone, and the database file, read directly
//     after the server stopped, holds none of its text.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>

#include <boost/json.hpp>

#include "support/data_probe.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::array;
using boost::json::object;
using Clock = std::chrono::steady_clock;

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }
std::string type_of(const object& frame) { return str(frame.at("type")); }
std::string dump(const boost::json::value& value) { return boost::json::serialize(value); }
const object& payload(const object& event_frame) { return event_frame.at("event").as_object(); }
std::string event_type(const object& event_frame) { return str(payload(event_frame).at("type")); }

std::int64_t send_ok(WsClient& ws, std::int64_t conversation, const std::string& client_id, const std::string& text) {
  auto ack =
      ws.request(object{{"type", "send"}, {"conversation_id", conversation}, {"client_id", client_id}, {"text", text}});
  if (type_of(ack) != "ack") throw std::runtime_error("send refused: " + dump(ack));
  return ack.at("message_id").as_int64();
}

void edit(WsClient& ws, std::int64_t message, const std::string& text) {
  expect_ok(ws, object{{"type", "edit"}, {"message_id", message}, {"text", text}});
}

void react(WsClient& ws, std::int64_t message, const std::string& emoji, bool remove = false) {
  expect_ok(ws, object{{"type", "react"}, {"message_id", message}, {"emoji", emoji}, {"remove", remove}});
}

// The messages a device holds after applying `events` in order, the way a
// client does it (docs/protocol.md, Events): by message id, reactions as
// sets. Reactions are listed sorted, so that two states compare equal when
// they hold the same things.
std::map<std::int64_t, object> apply(const std::vector<object>& events) {
  std::map<std::int64_t, object> messages;
  std::map<std::int64_t, std::map<std::string, std::set<std::int64_t>>> reactions;
  auto take = [&](const object& message) {
    auto id = message.at("id").as_int64();
    messages[id] = message;
    auto& mine = reactions[id];
    mine.clear();
    for (const auto& group : message.at("reactions").as_array()) {
      for (const auto& user : group.at("user_ids").as_array()) {
        mine[str(group.at("emoji"))].insert(user.as_int64());
      }
    }
  };
  for (const auto& frame : events) {
    const auto& event = payload(frame);
    auto type = str(event.at("type"));
    if (type == "message.new" || type == "message.edited") {
      take(event.at("message").as_object());
    } else if (type == "reaction.added" || type == "reaction.removed") {
      auto& users = reactions[event.at("message_id").as_int64()][str(event.at("emoji"))];
      if (type == "reaction.added") {
        users.insert(event.at("user_id").as_int64());
      } else {
        users.erase(event.at("user_id").as_int64());
      }
    } else if (type == "message.deleted") {
      auto& message = messages[event.at("message_id").as_int64()];
      message["text"] = "";
      message["deleted"] = true;
      message["mentions"] = array{};
      reactions[event.at("message_id").as_int64()].clear();
    }
  }
  for (auto& [id, message] : messages) {
    array list;
    for (const auto& [emoji, users] : reactions[id]) {
      if (users.empty()) continue;
      array ids;
      for (auto user : users) ids.push_back(user);
      list.push_back(object{{"emoji", emoji}, {"user_ids", std::move(ids)}});
    }
    message["reactions"] = std::move(list);
  }
  return messages;
}

// Events of a conversation only.
std::vector<object> of_conversation(const std::vector<object>& events, std::int64_t conversation) {
  std::vector<object> result;
  for (const auto& event : events) {
    const auto& p = payload(event);
    if (p.contains("conversation_id") && p.at("conversation_id").as_int64() == conversation) result.push_back(event);
  }
  return result;
}

bool contains(const std::vector<object>& frames, const std::string& needle) {
  return std::any_of(frames.begin(), frames.end(),
                     [&](const object& frame) { return dump(frame).find(needle) != std::string::npos; });
}

// alice, bob and carol, each other's contacts, in a group owned by alice.
struct World {
  World() : client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    make_contacts(client, bob, carol);
    group = create_group(client, alice, "team", {bob, carol});
  }
  std::string group_path() const { return "/api/v1/conversations/" + std::to_string(group); }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol;
  std::int64_t group = 0;
};

// ---- an ended membership -----------------------------------------------------

// Bob's phone stays connected until he is removed: what it holds then is
// what any device of his may ever see of the group. His laptop resumes long
// after, from before the removal (from where it stopped, and from 0): it must
// end up with exactly the phone's state, and never see what came later.
TEST(VisibilityTest, AnExMemberResumingSeesEachMessageAsItWasWhenTheMembershipEnded) {
  World w;
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  WsClient c(w.server.port());
  c.hello(w.carol.token);
  auto phone_login = login(w.client, "bob", w.bob.password, "phone");
  WsClient phone(w.server.port());
  auto phone_start = phone.hello(phone_login.token, 0);
  auto laptop_start = [&] {
    WsClient laptop(w.server.port());
    return laptop.hello(w.bob.token).position;
  }();

  auto m1 = send_ok(a, w.group, "m1", "first words for @carol");
  auto m2 = send_ok(a, w.group, "m2", "second message");
  edit(a, m2, "second message, corrected");
  react(c, m1, "👍");
  react(c, m2, "🎉");
  auto removed = w.client.del(w.group_path() + "/members/" + std::to_string(w.bob.id), w.alice.token);
  ASSERT_EQ(removed.status, 204) << removed.body;

  // The phone's view, up to the removal (addressed to bob: the last he hears).
  std::vector<object> phone_events = phone_start.events;
  for (;;) {
    auto frame = phone.next_of_type("event");
    phone_events.push_back(frame);
    if (event_type(frame) == "member.removed") break;
  }
  auto phone_state = apply(of_conversation(phone_events, w.group));
  ASSERT_EQ(phone_state.size(), 2U);
  EXPECT_EQ(str(phone_state.at(m1).at("text")), "first words for @carol");
  EXPECT_EQ(dump(phone_state.at(m1).at("mentions")), dump(array{w.carol.id}));
  EXPECT_EQ(str(phone_state.at(m2).at("text")), "second message, corrected");

  // After the removal: edits (with and without mentions), new reactions,
  // a removed reaction, a second edit.
  edit(a, m1, "SECRET-AFTER-REMOVAL one");
  react(c, m1, "🕵");
  react(c, m2, "🎉", true);
  edit(a, m2, "SECRET-AFTER-REMOVAL two, for @carol");
  react(a, m2, "🔒");
  edit(a, m2, "SECRET-AFTER-REMOVAL three");

  for (std::optional<std::int64_t> from : {std::optional<std::int64_t>(laptop_start), std::optional<std::int64_t>(0)}) {
    WsClient laptop(w.server.port());
    auto caught = laptop.hello(w.bob.token, from);
    ASSERT_EQ(type_of(caught.marker), "synced") << dump(caught.marker);
    EXPECT_FALSE(contains(caught.events, "SECRET")) << "resumed from " << *from;
    EXPECT_FALSE(contains(caught.events, "🕵")) << "resumed from " << *from;
    EXPECT_FALSE(contains(caught.events, "🔒")) << "resumed from " << *from;
    auto group_events = of_conversation(caught.events, w.group);
    ASSERT_FALSE(group_events.empty());
    EXPECT_EQ(event_type(group_events.back()), "member.removed");
    auto state = apply(group_events);
    ASSERT_EQ(state.size(), phone_state.size());
    for (const auto& [id, message] : phone_state) {
      EXPECT_EQ(dump(state.at(id)), dump(message)) << "message " << id << ", resumed from " << *from;
    }
    // The rebuilt message.new itself is the message as it was at the
    // removal, not merely corrected by the events after it.
    for (const auto& event : group_events) {
      if (event_type(event) != "message.new") continue;
      const auto& message = payload(event).at("message").as_object();
      auto id = message.at("id").as_int64();
      EXPECT_EQ(message.at("text"), phone_state.at(id).at("text")) << id;
      EXPECT_EQ(message.at("mentions"), phone_state.at(id).at("mentions")) << id;
      EXPECT_EQ(message.at("edited_at").is_null(), phone_state.at(id).at("edited_at").is_null()) << id;
    }
  }

  // Nothing of the group over REST either.
  EXPECT_EQ(w.client.get(w.group_path() + "/messages", w.bob.token).status, 404);
  EXPECT_EQ(w.client.get(w.group_path(), w.bob.token).status, 404);
  auto list = w.client.get("/api/v1/conversations", w.bob.token);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.json().at("conversations").as_array().empty()) << list.body;
}

// Leaving is an ended membership too; a later delete is the one change that
// reaches the ex-member, as a tombstone: the content exists nowhere any more.
TEST(VisibilityTest, AMemberWhoLeftSeesTheMessageAsAtTheLeaveOrATombstoneIfDeletedSince) {
  World w;
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  auto kept = send_ok(a, w.group, "kept", "kept as it was");
  auto gone = send_ok(a, w.group, "gone", "deleted after carol left");
  ASSERT_EQ(w.client.post(w.group_path() + "/leave", object{}, w.carol.token).status, 204);
  edit(a, kept, "SECRET-AFTER-LEAVE");
  expect_ok(a, object{{"type", "delete"}, {"message_id", gone}});

  WsClient laptop(w.server.port());
  auto caught = laptop.hello(w.carol.token, 0);
  ASSERT_EQ(type_of(caught.marker), "synced");
  EXPECT_FALSE(contains(caught.events, "SECRET"));
  EXPECT_FALSE(contains(caught.events, "deleted after carol left"));
  auto state = apply(of_conversation(caught.events, w.group));
  ASSERT_EQ(state.count(kept), 1U);
  EXPECT_EQ(str(state.at(kept).at("text")), "kept as it was");
  EXPECT_TRUE(state.at(kept).at("edited_at").is_null());
  ASSERT_EQ(state.count(gone), 1U);
  EXPECT_EQ(str(state.at(gone).at("text")), "");
  EXPECT_TRUE(state.at(gone).at("deleted").as_bool());
}

// ---- deletion -----------------------------------------------------------------

// A message with a file attached, edited twice, mentioned in, reacted to (one
// reaction taken back), seen by a member who then left (so that its earlier
// versions were kept for him), then deleted (and its file by its uploader): a
// resume from 0 shows its tombstone and its deletion, nothing else about it,
// and no stored copy of its text, reactions or file name is left.
TEST(VisibilityTest, DeletingAMessagePurgesEveryStoredCopyOfItsContent) {
  World w;
  auto a = std::make_unique<WsClient>(w.server.port());
  a->hello(w.alice.token);
  auto b = std::make_unique<WsClient>(w.server.port());
  b->hello(w.bob.token);
  auto before = send_ok(*a, w.group, "before", "an unrelated message stays");
  auto upload = w.client.request("POST", "/api/v1/media?name=PURGE-MARKER-file.txt", "attached bytes",
                                 w.alice.token, "application/octet-stream");
  ASSERT_EQ(upload.status, 201) << upload.body;
  std::string file = str(upload.json().at("media").at("id"));
  auto sent = a->request(object{{"type", "send"},
                                {"conversation_id", w.group},
                                {"client_id", "doomed"},
                                {"text", "PURGE-MARKER-1 for @bob"},
                                {"attachments", array{boost::json::string(file)}}});
  ASSERT_EQ(type_of(sent), "ack") << dump(sent);
  auto doomed = sent.at("message_id").as_int64();
  react(*b, doomed, "🦄");
  react(*b, doomed, "🐙");
  ASSERT_EQ(w.client.post(w.group_path() + "/leave", object{}, w.carol.token).status, 204);
  edit(*a, doomed, "PURGE-MARKER-2 for @bob");
  react(*b, doomed, "🦄", true);
  edit(*a, doomed, "PURGE-MARKER-3");
  // Enough later events that the doomed message's events sit on pages that
  // nothing writes to again: a deleted row's bytes would stay there.
  for (int i = 0; i < 40; ++i) {
    react(*b, before, "🙂");
    react(*b, before, "🙂", true);
  }
  expect_ok(*a, object{{"type", "delete"}, {"message_id", doomed}});
  // No message carries the file any more: its uploader may delete it.
  EXPECT_EQ(w.client.get("/api/v1/media/" + file, w.bob.token).status, 404);
  ASSERT_EQ(w.client.del("/api/v1/media/" + file, w.alice.token).status, 204);

  for (const auto* user : {&w.bob, &w.carol, &w.alice}) {
    WsClient device(w.server.port());
    auto caught = device.hello(user->token, 0);
    ASSERT_EQ(type_of(caught.marker), "synced");
    EXPECT_FALSE(contains(caught.events, "PURGE-MARKER")) << user->username;
    EXPECT_FALSE(contains(caught.events, "🦄")) << user->username;
    EXPECT_FALSE(contains(caught.events, "🐙")) << user->username;
    std::vector<std::string> about_doomed;
    for (const auto& event : caught.events) {
      const auto& p = payload(event);
      bool about = (p.contains("message_id") && p.at("message_id").as_int64() == doomed) ||
                   (p.contains("message") && p.at("message").at("id").as_int64() == doomed);
      if (!about) continue;
      about_doomed.push_back(event_type(event));
      if (event_type(event) == "message.new") {
        const auto& message = p.at("message").as_object();
        EXPECT_EQ(message.at("text"), "") << dump(message);
        EXPECT_TRUE(message.at("deleted").as_bool()) << dump(message);
        EXPECT_TRUE(message.at("mentions").as_array().empty()) << dump(message);
        EXPECT_TRUE(message.at("reactions").as_array().empty()) << dump(message);
        EXPECT_TRUE(message.at("attachments").as_array().empty()) << dump(message);
        EXPECT_TRUE(message.at("edited_at").is_null()) << dump(message);
      }
    }
    // Carol left before the deletion: she gets the tombstone, not the event.
    auto expected = user == &w.carol ? std::vector<std::string>{"message.new"}
                                     : std::vector<std::string>{"message.new", "message.deleted"};
    EXPECT_EQ(about_doomed, expected) << user->username;
  }
  auto history = w.client.get(w.group_path() + "/messages", w.alice.token);
  ASSERT_EQ(history.status, 200);
  EXPECT_EQ(history.body.find("PURGE-MARKER"), std::string::npos) << history.body;
  EXPECT_NE(history.body.find("an unrelated message stays"), std::string::npos);

  a.reset();
  b.reset();
  ASSERT_EQ(w.server.terminate(), 0);
  EXPECT_EQ(find_in_data(w.server.data_dir(), "PURGE-MARKER"), std::vector<std::string>{});
  EXPECT_EQ(find_in_data(w.server.data_dir(), "🦄"), std::vector<std::string>{});
  EXPECT_EQ(find_in_data(w.server.data_dir(), "🐙"), std::vector<std::string>{});
  // The check can find text: the message that was not deleted is there.
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "an unrelated message stays").empty());
}

}  // namespace
}  // namespace parley::test
