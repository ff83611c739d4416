// The engine against a real parleyd: first sync, live events, sends, sync
// after offline periods, and two devices of one user converging.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "engine_fixture.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

class SyncTest : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.port()};
  TestUser alice = register_and_login(http, "alice");
  TestUser bob = register_and_login(http, "bob");
  TempDir dir;
  Runtime runtime;
  ConversationId direct = 0;
  int sent_ = 0;

  void SetUp() override {
    make_contacts(http, alice, bob);
    direct = direct_conversation(http, alice, bob);
  }

  // Bob sends over REST-free WebSocket (tests/support), as another client would.
  void bob_sends(const std::string& text) {
    WsClient ws(server.port());
    ws.hello(bob.token);
    auto ack = ws.send_message(direct, "bob-" + std::to_string(++sent_), text);
    ASSERT_EQ(ack.at("type").as_string(), "ack") << boost::json::serialize(ack);
  }
};

TEST_F(SyncTest, FirstSignInLoadsConversationsHistoryAndContactsOverRest) {
  bob_sends("before alice's device existed");
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);

  ASSERT_TRUE(recorder->wait_until([&] { return account->conversations().size() == 1; }));
  const auto conversations = account->conversations();
  EXPECT_EQ(conversations[0].id, direct);
  ASSERT_TRUE(conversations[0].peer.has_value());
  EXPECT_EQ(conversations[0].peer->username, "bob");
  EXPECT_EQ(conversations[0].unread_count, 1);
  ASSERT_TRUE(conversations[0].last_message.has_value());
  EXPECT_EQ(conversations[0].last_message->text, "before alice's device existed");
  const auto page = account->history(direct);
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_FALSE(page.more_on_server);
  ASSERT_EQ(account->contacts().size(), 1u);
  EXPECT_EQ(account->contacts()[0].user.username, "bob");
  ASSERT_TRUE(account->me().has_value());
  EXPECT_EQ(account->me()->username, "alice");
  EXPECT_GT(account->position(), 0);
}

TEST_F(SyncTest, LiveMessagesAreStoredAndNotifiedOwnSendsAreAcknowledged) {
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  bob_sends("hello alice");
  ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 1; }));
  ASSERT_TRUE(recorder->wait_until([&] { return recorder->notifications().size() == 1; }));
  const auto notification = recorder->notifications()[0];
  EXPECT_EQ(notification.preview, "hello alice");
  EXPECT_EQ(notification.sender.username, "bob");
  EXPECT_EQ(notification.conversation_id, direct);

  auto client_id = account->send_text(direct, "hi bob");
  ASSERT_TRUE(client_id) << client_id.error().message;
  // Pending at once (before any network), then sent.
  auto page = account->history(direct);
  ASSERT_EQ(page.messages.size(), 2u);
  ASSERT_TRUE(recorder->wait_until([&] {
    auto messages = account->history(direct).messages;
    return messages.size() == 2 && messages.back().state == MessageState::sent && messages.back().seq == 2;
  }));
  EXPECT_EQ(account->history(direct).messages.back().client_id, client_id.value());
  // The server has it exactly once.
  auto history = server_history(http, alice, direct);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].text, "hi bob");
  // Own messages never notify.
  EXPECT_EQ(recorder->notifications().size(), 1u);
  // Local full-text search finds both.
  EXPECT_EQ(account->search_local("alice").size(), 1u);
  EXPECT_EQ(account->search_local("hi").size(), 1u);
}

TEST_F(SyncTest, MutedConversationsDoNotNotify) {
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  const auto in_an_hour = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
                              .count();
  auto muted = await_result<Done>([&](auto done) { account->mute(direct, in_an_hour, done); });
  ASSERT_TRUE(muted) << muted.error().message;
  bob_sends("quiet please");
  ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 1; }));
  EXPECT_TRUE(recorder->notifications().empty());
  auto unmuted = await_result<Done>([&](auto done) { account->mute(direct, 0, done); });
  ASSERT_TRUE(unmuted) << unmuted.error().message;
  bob_sends("loud again");
  ASSERT_TRUE(recorder->wait_until([&] { return recorder->notifications().size() == 1; }));
}

TEST_F(SyncTest, OfflineDeviceCatchesUpAndConvergesWithTheOtherDeviceByteForByte) {
  auto recorder1 = std::make_shared<Recorder>();
  auto recorder2 = std::make_shared<Recorder>();
  auto phone = signed_in_account(runtime, dir / "phone", server.port(), alice, recorder1);
  auto laptop = signed_in_account(runtime, dir / "laptop", server.port(), alice, recorder2);
  ASSERT_TRUE(recorder2->wait_until([&] { return laptop->conversations().size() == 1; }));
  laptop.reset();  // the laptop goes offline (its store stays)

  // Meanwhile: messages both ways, an edit, reactions, a deletion, a read
  // mark, a group, a new contact's invitation.
  for (int i = 0; i < 5; ++i) bob_sends("while away " + std::to_string(i));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(phone->send_text(direct, "from the phone " + std::to_string(i)));
  ASSERT_TRUE(recorder1->wait_until([&] {
    auto messages = phone->history(direct).messages;
    return messages.size() == 8 && messages.back().state == MessageState::sent;
  }));
  const auto first = phone->history(direct).messages[0].id;
  const auto mine = phone->history(direct).messages[6].id;
  ASSERT_TRUE(await_result<Done>([&](auto done) { phone->edit(mine, "edited on the phone", done); }));
  ASSERT_TRUE(await_result<Done>([&](auto done) { phone->react(first, "👍", false, done); }));
  ASSERT_TRUE(await_result<Done>([&](auto done) { phone->react(mine, "🎉", false, done); }));
  ASSERT_TRUE(await_result<Done>([&](auto done) { phone->react(mine, "🎉", true, done); }));
  ASSERT_TRUE(await_result<Done>([&](auto done) { phone->delete_message(phone->history(direct).messages[5].id, done); }));
  phone->mark_read(direct, 8);
  auto group = await_result<ConversationId>([&](auto done) { phone->create_group("hikers", {"bob"}, done); });
  ASSERT_TRUE(group) << group.error().message;
  TestUser carol = register_and_login(http, "carol");
  ASSERT_EQ(http.post("/api/v1/contacts/invitations", boost::json::object{{"username", "alice"}}, carol.token).status,
            201);
  ASSERT_TRUE(recorder1->wait_until([&] {
    return phone->invitations().size() == 1 && phone->conversations().size() == 2 &&
           phone->conversation(direct)->read_seq == 8;
  }));

  // The laptop comes back: resumes from its position and catches up.
  auto opened = Account::open(runtime, options_for(url_of(server.port()), dir / "laptop"));
  ASSERT_TRUE(opened) << opened.error().message;
  laptop = std::move(opened.value());
  laptop->set_listener(recorder2);
  const auto before = laptop->position();
  ASSERT_TRUE(recorder2->wait_until([&] { return laptop->position() == phone->position(); }))
      << "laptop " << laptop->position() << " phone " << phone->position() << " errors "
      << (recorder2->errors().empty() ? "" : recorder2->errors().back().message);
  EXPECT_GT(laptop->position(), before);
  ASSERT_TRUE(recorder2->wait_until([&] { return laptop->canonical_dump() == phone->canonical_dump(); }))
      << "phone:\n" << phone->canonical_dump() << "\nlaptop:\n" << laptop->canonical_dump();
  const auto messages = laptop->history(direct).messages;
  ASSERT_EQ(messages.size(), 8u);
  EXPECT_EQ(messages[6].text, "edited on the phone");
  EXPECT_TRUE(messages[5].deleted);
  EXPECT_EQ(messages[0].reactions.size(), 1u);
  EXPECT_TRUE(messages[6].reactions.empty());
}

TEST_F(SyncTest, TwoAccountsInOneProcessEachWithItsOwnStore) {
  auto alice_recorder = std::make_shared<Recorder>();
  auto bob_recorder = std::make_shared<Recorder>();
  auto alice_account = signed_in_account(runtime, dir / "alice", server.port(), alice, alice_recorder);
  auto bob_account = signed_in_account(runtime, dir / "bob", server.port(), bob, bob_recorder);
  ASSERT_TRUE(alice_account->send_text(direct, "ping from alice"));
  ASSERT_TRUE(bob_recorder->wait_until([&] { return bob_account->history(direct).messages.size() == 1; }));
  ASSERT_TRUE(bob_account->send_text(direct, "pong from bob"));
  ASSERT_TRUE(alice_recorder->wait_until([&] {
    auto m = alice_account->history(direct).messages;
    return m.size() == 2 && m[1].text == "pong from bob";
  }));
  EXPECT_EQ(alice_account->me()->username, "alice");
  EXPECT_EQ(bob_account->me()->username, "bob");
  // Each notified of the other's message only.
  ASSERT_TRUE(alice_recorder->wait_until([&] { return alice_recorder->notifications().size() == 1; }));
  EXPECT_EQ(alice_recorder->notifications()[0].sender.username, "bob");
  EXPECT_EQ(bob_recorder->notifications()[0].sender.username, "alice");
  // Unread counts are per account: bob read alice's message by answering
  // it (a send moves the sender's read mark); alice has not read bob's.
  // Bob's own message and his moved read mark may arrive one after the
  // other: wait for both.
  ASSERT_TRUE(bob_recorder->wait_until([&] {
    return bob_account->history(direct).messages.size() == 2 && bob_account->conversation(direct)->unread_count == 0;
  })) << "unread " << bob_account->conversation(direct)->unread_count;
  EXPECT_EQ(alice_account->conversation(direct)->unread_count, 1);
  // A folder is one account's: a second open of it is refused.
  auto again = Account::open(runtime, options_for(url_of(server.port()), dir / "alice"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::in_use);
  // Typing reaches the other account.
  alice_account->typing(direct);
  ASSERT_TRUE(bob_recorder->wait_until([&] { return bob_recorder->typing_count() == 1; }));
}

}  // namespace
}  // namespace parley::test
