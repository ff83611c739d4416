// `parleyd migrate-to-postgres`, black box: a data folder written by parleyd
// on SQLite (users, a direct conversation and a group, messages with an
// attachment and a reaction, an upload) is copied into an empty database of
// the test PostgreSQL cluster; parleyd then starts on PostgreSQL with the
// same folder, and a device resumes exactly where it was.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>

#include "support/http_client.hpp"
#include "support/parleyd_command.hpp"
#include "support/pg_database.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::object;
using namespace std::chrono_literals;

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }

std::int64_t acked_id(const object& reply) {
  if (str(reply.at("type")) != "ack") throw std::runtime_error("not acked: " + boost::json::serialize(reply));
  return reply.at("message_id").as_int64();
}

std::string postgres_config(const PgTestDatabase& db) {
  return "[storage]\nbackend = \"postgres\"\npostgres_url = \"" + db.conninfo() + "\"\n";
}

// Runs `parleyd args...` with PARLEY_POSTGRES_URL set to `url`.
CommandResult run_parleyd_with_url(const std::string& url, const std::vector<std::string>& args) {
  ::setenv("PARLEY_POSTGRES_URL", url.c_str(), 1);
  auto result = run_parleyd(args);
  ::unsetenv("PARLEY_POSTGRES_URL");
  return result;
}

std::vector<std::string> message_texts(const Caught& caught) {
  std::vector<std::string> texts;
  for (const auto& event : caught.events) {
    if (event.at("event").at("type") == "message.new") texts.push_back(str(event.at("event").at("message").at("text")));
  }
  return texts;
}

TEST(MigrateToPostgres, CopiesEverythingAndDevicesResumeExactly) {
  TempDir root;
  PgTestDatabase db;
  std::int64_t bob_position = 0;
  std::int64_t group = 0;
  std::int64_t attached = 0;
  std::string media_id;
  TestUser alice;
  TestUser bob;
  TestUser carol;
  {
    ServerProcess sqlite{ServerOptions{"", root.path()}};
    HttpClient client(sqlite.port());
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    std::int64_t direct = direct_conversation(client, alice, bob);
    group = create_group(client, alice, "trip", {bob, carol});
    auto upload = client.request("POST", "/api/v1/media?name=map.txt", "the map", alice.token,
                                 "application/octet-stream");
    ASSERT_TRUE(upload.status == 201 || upload.status == 200) << upload.body;
    auto uploaded = upload.json().as_object();
    media_id = str((uploaded.contains("media") ? uploaded.at("media").as_object() : uploaded).at("id"));
    WsClient a(sqlite.port());
    a.hello(alice.token, 0);
    acked_id(a.send_message(direct, "d1", "hello bob"));
    attached = send_text_ok(a, group, "the map", boost::json::array{boost::json::value(media_id)});
    ASSERT_EQ(a.request(object{{"type", "react"}, {"message_id", attached}, {"emoji", "👍"}}).at("type"), "ok");
    // Bob's device syncs here, then goes away.
    {
      WsClient b(sqlite.port());
      bob_position = b.hello(bob.token, 0).position;
    }
    acked_id(a.send_message(group, "g2", "after bob left"));
    acked_id(a.send_message(direct, "d2", "are you there?"));
  }  // SQLite server stopped

  auto result = run_parleyd({"--data-dir", (root.path() / "data").string(), "--config",
                             (root.path() / "test.toml").string(), "migrate-to-postgres"});
  // The config has no postgres_url yet: a clear refusal, nothing done.
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("postgres_url"), std::string::npos) << result.output;

  result = run_parleyd_with_url(db.conninfo(),
                                {"--data-dir", (root.path() / "data").string(), "--config",
                            (root.path() / "test.toml").string(), "migrate-to-postgres"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("counts verified"), std::string::npos) << result.output;
  EXPECT_EQ(db.query("SELECT count(*) FROM users"), "3");
  EXPECT_EQ(db.query("SELECT count(*) FROM messages"), "4");
  EXPECT_EQ(db.query("SELECT count(*) FROM message_attachments"), "1");
  EXPECT_EQ(db.query("SELECT refcount FROM media_blobs"), "1");

  // Again into the same database: refused, nothing changed.
  result = run_parleyd_with_url(db.conninfo(),
                                {"--data-dir", (root.path() / "data").string(), "--config",
                            (root.path() / "test.toml").string(), "migrate-to-postgres"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("not empty"), std::string::npos) << result.output;
  EXPECT_EQ(db.query("SELECT count(*) FROM messages"), "4");

  ServerProcess pg{ServerOptions{postgres_config(db), root.path()}};
  EXPECT_NE(pg.log().find("postgres database ready"), std::string::npos);
  // Bob resumes from where his device was: exactly the two messages after.
  WsClient b(pg.port());
  auto caught = b.hello(bob.token, bob_position);
  EXPECT_EQ(str(caught.marker.at("type")), "synced") << boost::json::serialize(caught.marker);
  EXPECT_EQ(message_texts(caught), (std::vector<std::string>{"after bob left", "are you there?"}));
  // From the start: everything, in the same order, the reaction and the file
  // kept, and the file's bytes still served.
  WsClient b2(pg.port());
  auto all = b2.hello(bob.token, 0);
  EXPECT_EQ(message_texts(all),
            (std::vector<std::string>{"hello bob", "the map", "after bob left", "are you there?"}));
  HttpClient client(pg.port());
  auto file = client.get("/api/v1/media/" + media_id, bob.token);
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "the map");
  auto history = client.get("/api/v1/conversations/" + std::to_string(group) + "/messages", bob.token);
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_NE(history.body.find("👍"), std::string::npos) << history.body;
  // New writes continue the ids, seqs and positions.
  WsClient a(pg.port());
  a.hello(alice.token, std::nullopt);
  auto ack = a.send_message(group, "g3", "on postgres");
  EXPECT_GT(acked_id(ack), attached);
  EXPECT_GT(ack.at("position").as_int64(), bob_position);
  object live;
  do {
    live = b.next_of_type("event", 10s);
  } while (live.at("event").at("type") != "message.new");
  EXPECT_EQ(str(live.at("event").at("message").at("text")), "on postgres");
  EXPECT_EQ(live.at("event").at("message").at("seq").as_int64(), 3);
}

}  // namespace
}  // namespace parley::test
