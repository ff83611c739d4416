// Sticker packs, black box: the default pack installed at first start (and
// only then), listing packs, a user's set, downloading images with their
// caching headers, sending a sticker (received live and in catch-up), the
// rules for sending, editing and deleting sticker messages, and
// `parleyd stickers import/list/remove` on a running server's data folder.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/data_probe.hpp"
#include "support/http_client.hpp"
#include "support/parleyd_command.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

namespace fs = std::filesystem;
using boost::json::object;

const fs::path kDefaultPack = fs::path(PARLEY_SOURCE_DIR) / "server/stickers/default";

// Runs `parleyd args...` with the test server's config and data folder;
// returns the exit status and what it printed.
std::pair<int, std::string> run_parleyd(const ServerProcess& server, std::vector<std::string> args) {
  auto result = run_parleyd_on(server, std::move(args));
  return {result.exit_code, result.output};
}

class StickersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    make_contacts(client, alice, bob);
    direct = direct_conversation(client, alice, bob);
  }

  // The pack's stickers, as GET /api/v1/sticker-packs/{name} lists them.
  boost::json::array stickers_of(const std::string& name) {
    auto reply = client.get("/api/v1/sticker-packs/" + name, alice.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json().at("pack").at("stickers").as_array();
  }

  static object send_sticker(WsClient& ws, std::int64_t conversation, const std::string& client_id,
                             std::int64_t sticker) {
    return ws.request(
        object{{"type", "send"}, {"conversation_id", conversation}, {"client_id", client_id}, {"sticker", sticker}});
  }

  // The default pack, as a server out of the box installs it (the test
  // harness leaves it out unless asked).
  ServerProcess server{ServerOptions{"[stickers]\ninstall_default_pack = true\n", {}}};
  HttpClient client{server.port()};
  TestUser alice, bob;
  std::int64_t direct = 0;
};

TEST_F(StickersTest, TheDefaultPackIsThereAtFirstStartWithItsImages) {
  auto reply = client.get("/api/v1/sticker-packs", alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto packs = reply.json().at("packs").as_array();
  ASSERT_EQ(packs.size(), 1U);
  EXPECT_EQ(packs[0].at("name"), "parley-default");
  EXPECT_EQ(packs[0].at("title"), "Parley");
  EXPECT_EQ(packs[0].at("count").as_int64(), 12);
  auto stickers = stickers_of("parley-default");
  ASSERT_EQ(stickers.size(), 12U);
  EXPECT_EQ(packs[0].at("cover"), stickers[0]);
  EXPECT_EQ(stickers[0].at("emoji"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(stickers[0].at("width").as_int64(), 512);

  // The image is the pack's file, byte for byte, cacheable forever.
  std::string url(stickers[0].at("image_url").as_string());
  auto image = client.get(url, bob.token);
  ASSERT_EQ(image.status, 200);
  EXPECT_EQ(image.body, read_file(kDefaultPack / "happy.png"));
  EXPECT_EQ(image.headers["content-type"], "image/png");
  EXPECT_EQ(image.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(image.headers["x-content-type-options"], "nosniff");
  ASSERT_FALSE(image.headers["etag"].empty());
  auto again =
      client.request("GET", url, "", bob.token, "application/json", {{"If-None-Match", image.headers["etag"]}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());

  // Logged-in users only; unknown ids and packs are 404.
  EXPECT_EQ(client.get(url).status, 401);
  EXPECT_EQ(client.get("/api/v1/sticker-packs").status, 401);
  EXPECT_EQ(client.get("/api/v1/stickers/999999/image", bob.token).status, 404);
  EXPECT_EQ(client.get("/api/v1/stickers/abc/image", bob.token).status, 404);
  EXPECT_EQ(client.get("/api/v1/sticker-packs/no-such-pack", bob.token).status, 404);
}

TEST(StickersConfigTest, NoDefaultPackWhenTheOperatorSaysSo) {
  ServerProcess server{ServerOptions{"[stickers]\ninstall_default_pack = false\n", {}}};
  HttpClient client{server.port()};
  auto user = register_and_login(client, "carol");
  auto reply = client.get("/api/v1/sticker-packs", user.token);
  ASSERT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.json().at("packs").as_array().empty());
}

TEST_F(StickersTest, UsersAddAndRemovePacksFromTheirSet) {
  auto mine = client.get("/api/v1/me/sticker-packs", alice.token);
  ASSERT_EQ(mine.status, 200);
  EXPECT_TRUE(mine.json().at("packs").as_array().empty());

  auto added = client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token);
  ASSERT_EQ(added.status, 200) << added.body;
  ASSERT_EQ(added.json().at("packs").as_array().size(), 1U);
  EXPECT_EQ(added.json().at("packs").at(0).at("name"), "parley-default");
  // Adding again changes nothing; another user's set is their own.
  EXPECT_EQ(
      client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token).json().at("packs").as_array().size(),
      1U);
  EXPECT_TRUE(client.get("/api/v1/me/sticker-packs", bob.token).json().at("packs").as_array().empty());
  EXPECT_EQ(client.put("/api/v1/me/sticker-packs/nope", object{}, alice.token).status, 404);

  auto removed = client.del("/api/v1/me/sticker-packs/parley-default", alice.token);
  ASSERT_EQ(removed.status, 200);
  EXPECT_TRUE(removed.json().at("packs").as_array().empty());
  EXPECT_TRUE(client.get("/api/v1/me/sticker-packs", alice.token).json().at("packs").as_array().empty());
}

TEST_F(StickersTest, SendingAStickerFromAPackInTheSet) {
  auto stickers = stickers_of("parley-default");
  std::int64_t sticker = stickers[4].at("id").as_int64();
  WsClient a(server.port());
  auto caught = a.hello(alice.token, 0);

  // Not in alice's set yet: refused, nothing stored.
  auto refused = send_sticker(a, direct, "s-0", sticker);
  EXPECT_EQ(refused.at("type"), "error");
  EXPECT_EQ(refused.at("code"), "validation_failed");
  // Text and a sticker together are refused.
  auto both = a.request(object{
      {"type", "send"}, {"conversation_id", direct}, {"client_id", "s-x"}, {"text", "hi"}, {"sticker", sticker}});
  EXPECT_EQ(both.at("code"), "validation_failed");

  ASSERT_EQ(client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token).status, 200);
  auto ack = send_sticker(a, direct, "s-1", sticker);
  ASSERT_EQ(ack.at("type"), "ack") << boost::json::serialize(ack);
  EXPECT_EQ(ack.at("seq").as_int64(), 1);  // the refused sends stored nothing

  // Bob, connecting later, gets it in catch-up with its sticker.
  WsClient b(server.port());
  auto caught_b = b.hello(bob.token, caught.position);
  const object* found = nullptr;
  for (const auto& event : caught_b.events) {
    if (event.at("event").at("type") == "message.new") found = &event;
  }
  ASSERT_NE(found, nullptr);
  auto message = found->at("event").at("message").as_object();
  EXPECT_EQ(message.at("text"), "");
  ASSERT_TRUE(message.at("sticker").is_object()) << boost::json::serialize(message);
  EXPECT_EQ(message.at("sticker").at("id").as_int64(), sticker);
  EXPECT_EQ(message.at("sticker").at("pack"), "parley-default");
  EXPECT_EQ(message.at("sticker").at("emoji"), stickers[4].at("emoji"));
  EXPECT_EQ(message.at("sticker").at("width"), stickers[4].at("width"));

  // History shows it too; a text message has "sticker": null.
  a.send_message(direct, "t-1", "plain");
  auto history = client.get("/api/v1/conversations/" + std::to_string(direct) + "/messages", bob.token);
  auto messages = history.json().at("messages").as_array();
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].at("sticker").at("id").as_int64(), sticker);
  EXPECT_TRUE(messages[1].at("sticker").is_null());

  // A retry with the same client_id is the same message.
  auto retry = send_sticker(a, direct, "s-1", sticker);
  EXPECT_EQ(retry.at("duplicate").as_bool(), true);
  EXPECT_EQ(retry.at("message_id"), ack.at("message_id"));

  // After alice removes the pack from her set, she can no longer send from it.
  ASSERT_EQ(client.del("/api/v1/me/sticker-packs/parley-default", alice.token).status, 200);
  EXPECT_EQ(send_sticker(a, direct, "s-2", sticker).at("code"), "validation_failed");
}

TEST_F(StickersTest, StickerMessagesCannotBeEditedAndDeletionPurgesTheSticker) {
  std::int64_t sticker = stickers_of("parley-default")[0].at("id").as_int64();
  ASSERT_EQ(client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token).status, 200);
  {
    WsClient a(server.port());
    a.hello(alice.token, 0);
    auto ack = send_sticker(a, direct, "s-1", sticker);
    ASSERT_EQ(ack.at("type"), "ack");
    std::int64_t id = ack.at("message_id").as_int64();

    auto edit = a.request(object{{"type", "edit"}, {"message_id", id}, {"text", "now text"}});
    EXPECT_EQ(edit.at("type"), "error");
    EXPECT_EQ(edit.at("code"), "validation_failed");

    auto deleted = a.request(object{{"type", "delete"}, {"message_id", id}});
    EXPECT_EQ(deleted.at("type"), "ok") << boost::json::serialize(deleted);
    auto history = client.get("/api/v1/conversations/" + std::to_string(direct) + "/messages", bob.token);
    auto message = history.json().at("messages").at(0);
    EXPECT_EQ(message.at("deleted").as_bool(), true);
    EXPECT_TRUE(message.at("sticker").is_null());
    // Catch-up from the start shows the tombstone without the sticker.
    WsClient b(server.port());
    auto caught = b.hello(bob.token, 0);
    for (const auto& event : caught.events) {
      if (event.at("event").at("type") != "message.new") continue;
      EXPECT_TRUE(event.at("event").at("message").at("sticker").is_null());
    }
  }  // the devices disconnect: the server then stops without waiting for them
  ASSERT_EQ(server.terminate(), 0);
  // Nothing in the database links the message to the sticker any more.
  EXPECT_EQ(query_data(server.data_dir(), "SELECT count(*) FROM message_stickers"), std::vector<std::string>{"0"});
}

// A member who left keeps seeing the stickers sent while they were a member
// (the ex-member view of docs/protocol.md, Visibility).
TEST_F(StickersTest, AnExMemberStillSeesTheStickerOfWhatTheySaw) {
  std::int64_t sticker = stickers_of("parley-default")[2].at("id").as_int64();
  ASSERT_EQ(client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token).status, 200);
  std::int64_t group = create_group(client, alice, "friends", {bob});
  {
    WsClient a(server.port());
    a.hello(alice.token, 0);
    ASSERT_EQ(send_sticker(a, group, "g-1", sticker).at("type"), "ack");
  }
  auto left = client.post("/api/v1/conversations/" + std::to_string(group) + "/leave", object{}, bob.token);
  ASSERT_LT(left.status, 300) << left.body;
  WsClient b(server.port());
  auto caught = b.hello(bob.token, 0);
  bool seen = false;
  for (const auto& event : caught.events) {
    if (event.at("event").at("type") != "message.new") continue;
    const auto& message = event.at("event").at("message");
    if (message.at("conversation_id").as_int64() != group) continue;
    ASSERT_TRUE(message.at("sticker").is_object()) << boost::json::serialize(message);
    EXPECT_EQ(message.at("sticker").at("id").as_int64(), sticker);
    seen = true;
  }
  EXPECT_TRUE(seen);
}

TEST_F(StickersTest, ImportListAndRemoveFromTheCommandLineWhileTheServerRuns) {
  // A new pack made of two of the default images, imported into the running
  // server's data folder.
  fs::path pack = server.data_dir() / "new-pack";
  fs::create_directories(pack);
  fs::copy_file(kDefaultPack / "wave.png", pack / "wave.png");
  fs::copy_file(kDefaultPack / "ok.png", pack / "ok.png");
  std::ofstream(pack / "pack.toml") << "name = \"greetings\"\ntitle = \"Greetings\"\n"
                                       "[[sticker]]\nfile = \"wave.png\"\nemoji = \"\xf0\x9f\x91\x8b\"\n"
                                       "[[sticker]]\nfile = \"ok.png\"\nemoji = \"\xf0\x9f\x86\x97\"\n";
  auto [status, out] = run_parleyd(server, {"stickers", "import", pack.string()});
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("imported sticker pack greetings (2 stickers)"), std::string::npos) << out;

  auto packs = client.get("/api/v1/sticker-packs", alice.token).json().at("packs").as_array();
  ASSERT_EQ(packs.size(), 2U);
  EXPECT_EQ(packs[1].at("name"), "greetings");
  auto stickers = stickers_of("greetings");
  ASSERT_EQ(stickers.size(), 2U);
  auto image = client.get(std::string(stickers[1].at("image_url").as_string()), bob.token);
  EXPECT_EQ(image.body, read_file(kDefaultPack / "ok.png"));

  auto [list_status, listed] = run_parleyd(server, {"stickers", "list"});
  EXPECT_EQ(list_status, 0);
  EXPECT_NE(listed.find("greetings\t2 stickers\tGreetings"), std::string::npos) << listed;

  // A hostile pack is refused with a message, and changes nothing.
  fs::create_symlink("/etc/passwd", pack / "evil.png");
  std::ofstream(pack / "pack.toml", std::ios::app)
      << "[[sticker]]\nfile = \"evil.png\"\nemoji = \"\xf0\x9f\x98\x88\"\n";
  auto [bad_status, bad] = run_parleyd(server, {"stickers", "import", pack.string()});
  EXPECT_EQ(bad_status, 1);
  EXPECT_NE(bad.find("symlinks are refused"), std::string::npos) << bad;
  EXPECT_EQ(stickers_of("greetings").size(), 2U);

  // Removing the default pack: gone from the list and from sets, and not
  // installed again when the server restarts.
  ASSERT_EQ(client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token).status, 200);
  auto [rm_status, rm] = run_parleyd(server, {"stickers", "remove", "parley-default"});
  ASSERT_EQ(rm_status, 0) << rm;
  EXPECT_EQ(client.get("/api/v1/sticker-packs/parley-default", alice.token).status, 404);
  EXPECT_TRUE(client.get("/api/v1/me/sticker-packs", alice.token).json().at("packs").as_array().empty());
  EXPECT_EQ(run_parleyd(server, {"stickers", "remove", "parley-default"}).first, 1);

  ASSERT_EQ(server.terminate(), 0);
  server.start();
  HttpClient restarted(server.port());
  auto after = restarted.get("/api/v1/sticker-packs", alice.token).json().at("packs").as_array();
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(after[0].at("name"), "greetings");
}

}  // namespace
}  // namespace parley::test
