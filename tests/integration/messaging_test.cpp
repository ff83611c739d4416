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

}  // namespace
}  // namespace parley::test
