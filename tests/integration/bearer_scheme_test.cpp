// The Authorization scheme name is case-insensitive (RFC 9110 section 11.1,
// RFC 6750), read by one rule for REST requests and WebSocket upgrades alike.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;

class BearerSchemeTest : public ::testing::Test {
 protected:
  BearerSchemeTest() : client(server.port()), amy(register_and_login(client, "amy")) {}

  Reply me_with(const std::string& authorization) const {
    return client.request("GET", "/api/v1/me", "", "", "application/json", {{"Authorization", authorization}});
  }

  ServerProcess server;
  HttpClient client;
  TestUser amy;
};

TEST_F(BearerSchemeTest, RestAcceptsTheSchemeInAnyCase) {
  for (const char* scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    EXPECT_EQ(me_with(std::string(scheme) + " " + amy.token).status, 200) << scheme;
  }
  EXPECT_EQ(me_with("Basic " + amy.token).status, 401);
  EXPECT_EQ(me_with("Bearer  " + amy.token).status, 401);  // exactly one space
  EXPECT_EQ(me_with("BEARER").status, 401);
}

TEST_F(BearerSchemeTest, WebSocketUpgradeReadsTheHeaderByTheSameRule) {
  WsOptions options;
  options.authorization = "BEARER " + amy.token;
  WsClient ws(server.port(), options);
  ws.send(object{{"type", "hello"}});  // no token: the upgrade's header authenticated
  auto welcome = ws.next_of_type("welcome");
  EXPECT_EQ(welcome.at("type").as_string(), "welcome");

  WsOptions wrong;
  wrong.authorization = "bEaReR " + std::string(43, 'A');
  EXPECT_EQ(refused_upgrade_status(server.port(), wrong), 401);
  WsOptions other_scheme;
  other_scheme.authorization = "Basic " + amy.token;
  EXPECT_EQ(refused_upgrade_status(server.port(), other_scheme), 401);
}

}  // namespace
}  // namespace parley::test
