// JSON from clients is read as I-JSON (RFC 7493): an object that names a
// member twice is refused (400 malformed_request, or the same error frame on
// /ws) at any depth, rather than read with the last value winning. And what
// the server quotes back from a frame is short.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;

std::string code_of(const object& frame) {
  return frame.contains("code") ? std::string(frame.at("code").as_string()) : std::string();
}

TEST(DuplicateKeysTest, RestBodiesWithADuplicateKeyAre400AndChangeNothing) {
  ServerProcess server;
  HttpClient client(server.port());
  // Last-wins would create "mallory" with this password.
  auto reply = client.request(
      "POST", "/api/v1/accounts",
      R"({"username": "kim", "password": "long enough pass", "display_name": "K", "username": "mallory"})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_EQ(reply.error_code(), "malformed_request");
  for (const char* name : {"kim", "mallory"}) {
    auto login = client.post("/api/v1/sessions", object{{"username", name}, {"password", "long enough pass"}});
    EXPECT_EQ(login.status, 401) << name << " must not exist";
  }
  // Nested: a duplicate inside an inner object is refused too.
  auto kim = register_and_login(client, "kim");
  reply = client.request("PATCH", "/api/v1/me/settings", R"({"a": {"b": 1, "b": 2}})", kim.token);
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_EQ(reply.error_code(), "malformed_request");
}

TEST(DuplicateKeysTest, FramesWithADuplicateKeyGetMalformedRequestAndStoreNothing) {
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  make_contacts(client, alice, bob);
  auto conversation = direct_conversation(client, alice, bob);
  WsClient ws(server.port());
  ws.hello(alice.token);
  ws.send_text(R"({"type": "send", "ref": "d1", "conversation_id": )" + std::to_string(conversation) +
               R"(, "client_id": "c1", "text": "shown", "text": "stored"})");
  auto error = ws.next_of_type("error");
  EXPECT_EQ(code_of(error), "malformed_request") << boost::json::serialize(error);
  auto history = client.get("/api/v1/conversations/" + std::to_string(conversation) + "/messages", alice.token);
  ASSERT_EQ(history.status, 200);
  EXPECT_TRUE(history.json().at("messages").as_array().empty());
  // The connection carries on.
  auto ack = ws.send_message(conversation, "c2", "fine");
  EXPECT_EQ(ack.at("type"), "ack") << boost::json::serialize(ack);
}

TEST(DuplicateKeysTest, AnUnknownFrameTypeIsQuotedAtMost32Bytes) {
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  WsClient ws(server.port());
  ws.hello(alice.token);
  std::string type(8000, 'Z');
  ws.send(object{{"type", type}, {"ref", "long"}});
  auto error = ws.next_of_type("error");
  EXPECT_EQ(code_of(error), "validation_failed");
  std::string message(error.at("message").as_string());
  EXPECT_LE(message.size(), 80U) << message;
  EXPECT_NE(message.find(std::string(32, 'Z') + "\u2026"), std::string::npos) << message;
}

}  // namespace
}  // namespace parley::test
