// Real-time messaging over WebSocket: send, ack, delivery to every device,
// idempotent retries, ordering, and edits, deletions, reactions, receipts.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;

class MessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    make_contacts(client, alice, bob);
    direct = direct_conversation(client, alice, bob);
  }

  ServerProcess server;
  HttpClient client{server.port()};
  TestUser alice, bob;
  std::int64_t direct = 0;
};

TEST_F(MessagingTest, SendIsAckedAfterStorageAndDeliveredToBothSides) {
  WsClient a(server.port()), b(server.port());
  auto caught_a = a.hello(alice.token, 0);
  b.hello(bob.token, 0);
  auto ack = a.send_message(direct, "m-1", "hello bob");
  ASSERT_EQ(ack.at("type"), "ack") << boost::json::serialize(ack);
  EXPECT_EQ(ack.at("seq").as_int64(), 1);
  EXPECT_EQ(ack.at("duplicate").as_bool(), false);
  EXPECT_GT(ack.at("position").as_int64(), caught_a.position);

  auto event = b.next_of_type("event");
  EXPECT_EQ(event.at("position"), ack.at("position"));
  auto message = event.at("event").at("message");
  EXPECT_EQ(event.at("event").at("type"), "message.new");
  EXPECT_EQ(message.at("text"), "hello bob");
  EXPECT_EQ(message.at("id"), ack.at("message_id"));
  EXPECT_EQ(message.at("sender_id").as_int64(), alice.id);

  // History over REST has it too: it was stored before the ack.
  auto history = client.get("/api/v1/conversations/" + std::to_string(direct) + "/messages", bob.token);
  ASSERT_EQ(history.status, 200) << history.body;
  ASSERT_EQ(history.json().at("messages").as_array().size(), 1U);
}

TEST_F(MessagingTest, RetryWithTheSameClientIdCreatesOneMessage) {
  WsClient a(server.port());
  a.hello(alice.token, 0);
  auto first = a.send_message(direct, "retry-1", "once");
  auto second = a.send_message(direct, "retry-1", "once");
  EXPECT_EQ(second.at("duplicate").as_bool(), true);
  EXPECT_EQ(second.at("message_id"), first.at("message_id"));
  EXPECT_EQ(second.at("seq"), first.at("seq"));
  auto history = client.get("/api/v1/conversations/" + std::to_string(direct) + "/messages", alice.token);
  EXPECT_EQ(history.json().at("messages").as_array().size(), 1U);
}

// A client_id names one message: reusing it for another text or another
// conversation is a client bug, answered conflict, and nothing is stored
// (docs/protocol.md, Idempotent sends).
TEST_F(MessagingTest, AUsedClientIdForAnotherTextOrConversationIsAConflict) {
  auto group = create_group(client, alice, "pair", {bob});
  WsClient a(server.port());
  a.hello(alice.token, 0);
  auto first = a.send_message(direct, "used-1", "the original");
  ASSERT_EQ(first.at("type"), "ack") << boost::json::serialize(first);

  auto other_text = a.send_message(direct, "used-1", "another text");
  EXPECT_EQ(other_text.at("type"), "error") << boost::json::serialize(other_text);
  EXPECT_EQ(other_text.at("code"), "conflict") << boost::json::serialize(other_text);
  auto other_conversation = a.send_message(group, "used-1", "the original");
  EXPECT_EQ(other_conversation.at("type"), "error") << boost::json::serialize(other_conversation);
  EXPECT_EQ(other_conversation.at("code"), "conflict") << boost::json::serialize(other_conversation);

  // The same message again is still a duplicate, and only one was stored.
  auto again = a.send_message(direct, "used-1", "the original");
  EXPECT_EQ(again.at("type"), "ack") << boost::json::serialize(again);
  EXPECT_EQ(again.at("duplicate").as_bool(), true);
  EXPECT_EQ(again.at("message_id"), first.at("message_id"));
  auto direct_history = client.get("/api/v1/conversations/" + std::to_string(direct) + "/messages", alice.token);
  EXPECT_EQ(direct_history.json().at("messages").as_array().size(), 1U);
  auto group_history = client.get("/api/v1/conversations/" + std::to_string(group) + "/messages", alice.token);
  EXPECT_EQ(group_history.json().at("messages").as_array().size(), 0U);
}

// The server reads the start of each frame with a small buffer (what an idle
// connection holds) and the rest as it comes: frames of every size, sent
// back to back, are each read whole and answered in order.
TEST_F(MessagingTest, FramesLargerThanTheFirstReadArriveWholeAndInOrder) {
  WsClient a(server.port()), b(server.port());
  a.hello(alice.token, 0);
  b.hello(bob.token, 0);
  // 4,000 characters of three bytes each: 12,000 bytes of text.
  std::string large;
  for (int i = 0; i < 4000; ++i) large += "\xE2\x82\xAC";  // U+20AC
  const std::vector<std::string> texts = {"small", large, std::string(511, 'b'), std::string(513, 'c'), "end"};
  for (std::size_t i = 0; i < texts.size(); ++i) {
    a.send(object{{"type", "send"},
                  {"conversation_id", direct},
                  {"client_id", "size-" + std::to_string(i)},
                  {"text", texts[i]},
                  {"ref", std::to_string(i)}});
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto ack = a.next_of_type("ack");
    EXPECT_EQ(ack.at("ref").as_string(), std::to_string(i)) << boost::json::serialize(ack);
    EXPECT_EQ(ack.at("seq").as_int64(), static_cast<std::int64_t>(i + 1));
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto event = b.next_of_type("event");
    EXPECT_EQ(event.at("event").at("message").at("text").as_string(), texts[i]) << "message " << i;
  }
}

}  // namespace
}  // namespace parley::test
