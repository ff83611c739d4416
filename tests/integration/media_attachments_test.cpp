// Using media, black box (docs/protocol.md "send", Message; docs/security.md
// "Media"): files attached to messages, who may read them (members, former
// members for what was posted while they were members, nobody else: the same
// 404 as an unknown id), edits keep them, deletion drops them and the orphan
// sweeper then deletes the file (row, blob and every trace of its name);
// user and group avatars and who sees them; hostile sends.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "support/data_probe.hpp"
#include "support/http_client.hpp"
#include "support/media_client.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::array;
using boost::json::object;
using Clock = std::chrono::steady_clock;

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }
std::string dump(const boost::json::value& value) { return boost::json::serialize(value); }

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

// An 8x8 RGB PNG (made with zlib; decodes everywhere).
// A PNG whose header claims 100 000 x 100 000 pixels (a decompression bomb).
const std::string kBombPng = from_hex(
    "89504e470d0a1a0a0000000d49484452000186a0000186a0080200000027309c9f0000000b49444154789c6360800100000a00017f80"
    "745e0000000049454e44ae426082");

// The server with a short orphan grace, so that the sweeper's work is seen
// within a test: 3 s leaves time to attach a fresh upload on a busy machine.
ServerOptions short_grace() {
  return ServerOptions{"[media]\norphan_grace_seconds = 3\nsweep_interval_seconds = 1\n", {}};
}

struct World {
  explicit World(ServerOptions options = {}) : server(std::move(options)), client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    mallory = register_and_login(client, "mallory");
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    make_contacts(client, bob, carol);
    group = create_group(client, alice, "team", {bob, carol});
  }
  std::string group_path() const { return "/api/v1/conversations/" + std::to_string(group); }

  // Uploads `bytes` as `name` (POST /api/v1/media); returns the Media JSON.
  object upload(const TestUser& user, const std::string& name, const std::string& bytes) const {
    auto reply = client.request("POST", "/api/v1/media?name=" + name, bytes, user.token, "application/octet-stream");
    if (reply.status != 201 && reply.status != 200) {
      throw std::runtime_error("upload refused: " + std::to_string(reply.status) + " " + reply.body);
    }
    auto json = reply.json().as_object();
    return json.contains("media") ? json.at("media").as_object() : json;
  }
  std::string upload_id(const TestUser& user, const std::string& name, const std::string& bytes) const {
    return str(upload(user, name, bytes).at("id"));
  }
  Reply download(const TestUser& user, const std::string& id) const {
    return client.get("/api/v1/media/" + id, user.token);
  }
  int status(const TestUser& user, const std::string& id) const { return download(user, id).status; }
  // Waits (polling, up to 20 s) until `user` gets `want` for the media.
  bool wait_status(const TestUser& user, const std::string& id, int want) const {
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      if (status(user, id) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // Blob files in the media folder.
  std::size_t blob_files() const {
    std::size_t count = 0;
    auto root = server.data_dir() / "data" / "media" / "blobs";
    if (!std::filesystem::exists(root)) return 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) count += entry.is_regular_file();
    return count;
  }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol, mallory;
  std::int64_t group = 0;
};

object send_frame(std::int64_t conversation, const std::string& client_id, const std::string& text,
                  const boost::json::value& attachments) {
  object frame{{"type", "send"}, {"conversation_id", conversation}, {"client_id", client_id}};
  if (!text.empty()) frame["text"] = text;
  frame["attachments"] = attachments;
  return frame;
}

array ids(std::initializer_list<std::string> list) {
  array out;
  for (const auto& id : list) out.push_back(boost::json::string(id));
  return out;
}

std::int64_t send_ok(WsClient& ws, std::int64_t conversation, const std::string& client_id, const std::string& text,
                     const array& attachments) {
  auto ack = ws.request(send_frame(conversation, client_id, text, attachments));
  if (str(ack.at("type")) != "ack") throw std::runtime_error("send refused: " + dump(ack));
  return ack.at("message_id").as_int64();
}

std::string error_code(const object& reply) {
  return str(reply.at("type")) == "error" ? str(reply.at("code")) : "(not an error: " + dump(reply) + ")";
}

// The attachments' ids of a Message JSON.
std::vector<std::string> attachment_ids(const object& message) {
  std::vector<std::string> out;
  for (const auto& file : message.at("attachments").as_array()) out.push_back(str(file.at("id")));
  return out;
}

// The message with `id` in the conversation's history, as `user` sees it.
object history_message(const World& w, const TestUser& user, std::int64_t id) {
  auto reply = w.client.get(w.group_path() + "/messages", user.token);
  if (reply.status != 200) throw std::runtime_error("history: " + reply.body);
  auto json = reply.json();
  for (const auto& message : json.at("messages").as_array()) {
    if (message.at("id").as_int64() == id) return message.as_object();
  }
  throw std::runtime_error("no message " + std::to_string(id) + " in " + reply.body);
}

// ---- attachments and who reads them ---------------------------------------------

TEST(MediaAttachmentsTest, AMemberDownloadsAnAttachedFileAndStrangersGetTheSame404AsAnUnknownId) {
  World w;
  const std::string bytes = "quarterly numbers, not for strangers";
  auto media = w.upload(w.alice, "report.txt", bytes);
  std::string id = str(media.at("id"));
  // Before it is sent, only the uploader reads it.
  EXPECT_EQ(w.status(w.alice, id), 200);
  EXPECT_EQ(w.status(w.bob, id), 404);

  WsClient a(w.server.port());
  a.hello(w.alice.token);
  WsClient b(w.server.port());
  b.hello(w.bob.token);
  auto message_id = send_ok(a, w.group, "with-file", "see attached", ids({id}));
  auto event = b.next_of_type("event");
  const auto& message = event.at("event").at("message").as_object();
  ASSERT_EQ(message.at("id").as_int64(), message_id) << dump(event);
  ASSERT_EQ(message.at("attachments").as_array().size(), 1U) << dump(message);
  const auto& file = message.at("attachments").at(0).as_object();
  EXPECT_EQ(str(file.at("id")), id);
  EXPECT_EQ(str(file.at("name")), "report.txt");
  EXPECT_EQ(file.at("size").as_int64(), static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(file.at("content_type"), media.at("content_type"));
  EXPECT_TRUE(file.at("width").is_null());
  EXPECT_TRUE(file.at("height").is_null());

  auto got = w.download(w.bob, id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, bytes);
  EXPECT_EQ(attachment_ids(history_message(w, w.bob, message_id)), std::vector<std::string>{id});

  // Mallory is in no conversation with it: the same answer as for an id that
  // does not exist.
  auto stranger = w.download(w.mallory, id);
  auto unknown = w.download(w.mallory, "AAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(stranger.status, 404);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(stranger.error_code(), unknown.error_code());
  EXPECT_EQ(w.client.get("/api/v1/media/" + id + "/info", w.mallory.token).status, 404);

  // Edits keep the attachments.
  auto edited = a.request(object{{"type", "edit"}, {"message_id", message_id}, {"text", "see attached (v2)"}});
  ASSERT_EQ(str(edited.at("type")), "ok") << dump(edited);
  auto edit_event = b.next_of_type("event");
  EXPECT_EQ(str(edit_event.at("event").at("type")), "message.edited");
  EXPECT_EQ(attachment_ids(edit_event.at("event").at("message").as_object()), std::vector<std::string>{id});
  EXPECT_EQ(attachment_ids(history_message(w, w.bob, message_id)), std::vector<std::string>{id});
  EXPECT_EQ(w.status(w.bob, id), 200);

  // A file with no text is a message; neither is not.
  auto only_file = send_ok(a, w.group, "file-only", "", ids({w.upload_id(w.alice, "b.txt", "b")}));
  EXPECT_EQ(str(history_message(w, w.bob, only_file).at("text")), "");
  EXPECT_EQ(error_code(a.request(send_frame(w.group, "neither", "", array{}))), "validation_failed");
}

TEST(MediaAttachmentsTest, ARemovedMemberKeepsFilesPostedWhileAMemberAndNothingPostedLater) {
  World w;
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  auto before = w.upload_id(w.alice, "before.txt", "posted while carol was a member");
  auto before_message = send_ok(a, w.group, "before", "one", ids({before}));
  ASSERT_EQ(w.status(w.carol, before), 200);

  auto removed = w.client.del(w.group_path() + "/members/" + std::to_string(w.carol.id), w.alice.token);
  ASSERT_EQ(removed.status, 204) << removed.body;
  auto after = w.upload_id(w.alice, "after.txt", "posted after carol was removed");
  send_ok(a, w.group, "after", "two", ids({after}));

  EXPECT_EQ(w.status(w.carol, before), 200);
  EXPECT_EQ(w.status(w.carol, after), 404);
  EXPECT_EQ(w.status(w.bob, after), 200);

  // Her devices, resuming from 0, see the earlier message with its file (the
  // as-of-end view) and nothing of the later one.
  WsClient c(w.server.port());
  auto caught = c.hello(w.carol.token, 0);
  bool saw_before = false;
  for (const auto& event : caught.events) {
    const auto& payload = event.at("event").as_object();
    if (!payload.contains("message")) continue;
    const auto& message = payload.at("message").as_object();
    EXPECT_NE(str(message.at("client_id")), "after") << dump(message);
    if (message.at("id").as_int64() == before_message) {
      saw_before = true;
      EXPECT_EQ(attachment_ids(message), std::vector<std::string>{before});
    }
  }
  EXPECT_TRUE(saw_before);
}

TEST(MediaAttachmentsTest, AFileSeenInOneConversationMayBeForwardedToAnother) {
  World w;
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  WsClient b(w.server.port());
  b.hello(w.bob.token);
  auto id = w.upload_id(w.alice, "photo.txt", "shared once, forwarded once");
  send_ok(a, w.group, "first", "here", ids({id}));
  auto pair = direct_conversation(w.client, w.bob, w.carol);
  ASSERT_EQ(w.status(w.mallory, id), 404);
  // Bob did not upload it but can read it: he may forward it.
  send_ok(b, pair, "forward", "look what alice sent", ids({id}));
  EXPECT_EQ(w.status(w.carol, id), 200);
}

// ---- deletion and the orphan sweeper -----------------------------------------------

TEST(MediaAttachmentsTest, DeletingAMessageRevokesItsFilesAndTheSweeperPurgesThemEverywhere) {
  World w(short_grace());
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  const std::string name = "PURGE-ATTACHMENT-NAME.txt";
  const std::string content = "PURGE-ATTACHMENT-CONTENT";
  auto id = w.upload_id(w.alice, name, content);
  auto kept = w.upload_id(w.alice, "kept-file.txt", "a file that stays attached");
  auto doomed = send_ok(a, w.group, "doomed", "with a file", ids({id}));
  send_ok(a, w.group, "stays", "with another file", ids({kept}));
  // An edit stores a message.edited event that carries the attachment's name.
  ASSERT_EQ(str(a.request(object{{"type", "edit"}, {"message_id", doomed}, {"text", "edited"}}).at("type")), "ok");
  ASSERT_EQ(w.status(w.bob, id), 200);

  ASSERT_EQ(str(a.request(object{{"type", "delete"}, {"message_id", doomed}}).at("type")), "ok");
  // The other member loses it at once; the uploader keeps it until the grace.
  EXPECT_EQ(w.status(w.bob, id), 404);
  EXPECT_TRUE(history_message(w, w.bob, doomed).at("attachments").as_array().empty());
  ASSERT_TRUE(w.wait_status(w.alice, id, 404)) << "the orphan sweeper never removed the file";
  EXPECT_EQ(w.status(w.bob, kept), 200);
  // Its blob goes with it (the blob sweeper runs after the orphan sweeper).
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (w.blob_files() != 1 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(w.blob_files(), 1U);

  a.drop();
  ASSERT_EQ(w.server.terminate(), 0);
  EXPECT_EQ(find_in_data(w.server.data_dir(), "PURGE-ATTACHMENT"), std::vector<std::string>{});
  // The check can find a name: the file still attached is there.
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "kept-file.txt").empty());
}

TEST(MediaAttachmentsTest, TheOrphanSweeperRemovesUnreferencedUploadsAndKeepsReferencedOnes) {
  World w(short_grace());
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  auto loose = w.upload_id(w.alice, "loose.txt", "never sent anywhere");
  auto attached = w.upload_id(w.alice, "attached.txt", "sent in a message");
  auto avatar = w.upload_id(w.alice, "face.png", kTinyPng);
  send_ok(a, w.group, "keep", "", ids({attached}));
  ASSERT_EQ(w.client.patch("/api/v1/me", object{{"avatar_media_id", avatar}}, w.alice.token).status, 200);
  ASSERT_EQ(w.blob_files(), 3U);

  ASSERT_TRUE(w.wait_status(w.alice, loose, 404)) << "the orphan sweeper never removed the unreferenced upload";
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (w.blob_files() != 2 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(w.blob_files(), 2U);
  EXPECT_EQ(w.status(w.alice, attached), 200);
  EXPECT_EQ(w.status(w.alice, avatar), 200);

  // An avatar that is replaced is an orphan from then on.
  ASSERT_EQ(w.client.patch("/api/v1/me", object{{"avatar_media_id", nullptr}}, w.alice.token).status, 200);
  EXPECT_TRUE(w.wait_status(w.alice, avatar, 404));
  EXPECT_EQ(w.status(w.bob, attached), 200);
}

// ---- avatars ------------------------------------------------------------------------

TEST(MediaAttachmentsTest, AUserAvatarIsAnImageTheUserMayReadAndEverySignedInUserSeesIt) {
  World w;
  auto face = w.upload_id(w.alice, "face.png", kTinyPng);
  auto reply = w.client.patch("/api/v1/me", object{{"avatar_media_id", face}}, w.alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(str(reply.json().at("user").at("avatar_media_id")), face);
  auto profile = w.client.get("/api/v1/users/alice", w.mallory.token);
  ASSERT_EQ(profile.status, 200);
  EXPECT_EQ(str(profile.json().at("user").at("avatar_media_id")), face);
  // Mallory shares nothing with Alice, but sees her profile: and its avatar.
  auto small = w.client.get("/api/v1/media/" + face + "/thumbnail?size=small", w.mallory.token);
  EXPECT_EQ(small.status, 200) << small.body;

  // Not an image, a decompression bomb, someone else's private upload: refused, nothing changes.
  auto text = w.upload_id(w.alice, "notes.txt", "plain text is no avatar");
  auto bomb = w.upload_id(w.alice, "bomb.png", kBombPng);
  auto private_face = w.upload_id(w.bob, "bob.png", kTinyPng);
  auto expect_refused = [&](const std::string& id, int status, const std::string& code) {
    auto refused = w.client.patch("/api/v1/me", object{{"avatar_media_id", id}}, w.alice.token);
    EXPECT_EQ(refused.status, status) << id << " " << refused.body;
    EXPECT_EQ(refused.error_code(), code) << refused.body;
  };
  expect_refused(text, 415, "unsupported_media_type");
  expect_refused(bomb, 422, "invalid_image");
  expect_refused(private_face, 422, "validation_failed");
  expect_refused("AAAAAAAAAAAAAAAAAAAAAA", 422, "validation_failed");
  EXPECT_EQ(str(w.client.get("/api/v1/me", w.alice.token).json().at("user").at("avatar_media_id")), face);
  // Bob's own upload is his to use; then everyone sees it.
  EXPECT_EQ(w.status(w.mallory, private_face), 404);
  ASSERT_EQ(w.client.patch("/api/v1/me", object{{"avatar_media_id", private_face}}, w.bob.token).status, 200);
  EXPECT_EQ(w.status(w.mallory, private_face), 200);
}

TEST(MediaAttachmentsTest, AGroupAvatarIsSetByAdminsAnnouncedAndSeenByMembersOnly) {
  World w;
  WsClient b(w.server.port());
  b.hello(w.bob.token);
  auto logo = w.upload_id(w.alice, "logo.png", kTinyPng);
  // A member (not an admin) may not change it.
  auto bob_logo = w.upload_id(w.bob, "bob-logo.png", kTinyPng);
  auto refused = w.client.patch(w.group_path(), object{{"avatar_media_id", bob_logo}}, w.bob.token);
  EXPECT_EQ(refused.status, 403) << refused.body;

  auto reply = w.client.patch(w.group_path(), object{{"avatar_media_id", logo}}, w.alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(str(reply.json().at("conversation").at("avatar_media_id")), logo);
  auto event = b.next_of_type("event");
  EXPECT_EQ(str(event.at("event").at("type")), "conversation.updated") << dump(event);
  EXPECT_EQ(str(event.at("event").at("avatar_media_id")), logo) << dump(event);
  EXPECT_EQ(str(w.client.get(w.group_path(), w.bob.token).json().at("conversation").at("avatar_media_id")), logo);

  EXPECT_EQ(w.status(w.bob, logo), 200);
  EXPECT_EQ(w.client.get("/api/v1/media/" + logo + "/thumbnail?size=small", w.bob.token).status, 200);
  EXPECT_EQ(w.status(w.mallory, logo), 404);
  auto text = w.upload_id(w.alice, "logo.txt", "not an image");
  EXPECT_EQ(w.client.patch(w.group_path(), object{{"avatar_media_id", text}}, w.alice.token).status, 415);

  // Removing it: members no longer read it through the group.
  ASSERT_EQ(w.client.patch(w.group_path(), object{{"avatar_media_id", nullptr}}, w.alice.token).status, 200);
  EXPECT_EQ(w.status(w.bob, logo), 404);
}

// ---- hostile sends -------------------------------------------------------------------

TEST(MediaAttachmentsTest, HostileAttachmentListsAreRefusedAndStoreNothing) {
  World w;
  WsClient m(w.server.port());
  m.hello(w.mallory.token);
  WsClient a(w.server.port());
  a.hello(w.alice.token);
  auto secret = w.upload_id(w.alice, "secret.txt", "alice's private upload");
  auto own = w.upload_id(w.mallory, "own.txt", "mallory's");
  make_contacts(w.client, w.mallory, w.bob);
  auto pair = direct_conversation(w.client, w.mallory, w.bob);

  // Another user's private upload: not found, exactly as an unknown id.
  auto stolen = m.request(send_frame(pair, "steal", "look", ids({own, secret})));
  EXPECT_EQ(error_code(stolen), "not_found");
  EXPECT_NE(str(stolen.at("message")).find("attachments[1]"), std::string::npos) << dump(stolen);
  EXPECT_EQ(error_code(m.request(send_frame(pair, "unknown", "x", ids({"AAAAAAAAAAAAAAAAAAAAAA"})))), "not_found");
  EXPECT_EQ(w.status(w.bob, secret), 404);

  array eleven;
  for (int i = 0; i < 11; ++i) {
    eleven.push_back(boost::json::string(w.upload_id(w.mallory, "f.txt", std::to_string(i))));
  }
  EXPECT_EQ(error_code(m.request(send_frame(pair, "many", "x", eleven))), "validation_failed");
  EXPECT_EQ(error_code(m.request(send_frame(pair, "dup", "x", ids({own, own})))), "validation_failed");
  EXPECT_EQ(error_code(m.request(send_frame(pair, "type1", "x", array{1, 2}))), "validation_failed");
  EXPECT_EQ(error_code(m.request(send_frame(pair, "type2", "x", object{{"id", own}}))), "validation_failed");
  EXPECT_EQ(error_code(m.request(send_frame(pair, "type3", "x", boost::json::string(own)))), "validation_failed");
  EXPECT_EQ(error_code(m.request(send_frame(pair, "long", "x", ids({std::string(5000, 'A')})))), "not_found");
  auto history = w.client.get("/api/v1/conversations/" + std::to_string(pair) + "/messages", w.mallory.token);
  ASSERT_EQ(history.status, 200);
  EXPECT_TRUE(history.json().at("messages").as_array().empty()) << history.body;

  // Ten distinct files are fine; a retry with the same list is the same
  // message, with another list a conflict.
  array ten(eleven.begin(), eleven.begin() + 10);
  auto first = m.request(send_frame(pair, "ten", "", ten));
  ASSERT_EQ(str(first.at("type")), "ack") << dump(first);
  auto again = m.request(send_frame(pair, "ten", "", ten));
  ASSERT_EQ(str(again.at("type")), "ack") << dump(again);
  EXPECT_TRUE(again.at("duplicate").as_bool());
  EXPECT_EQ(again.at("message_id"), first.at("message_id"));
  array nine(ten.begin(), ten.begin() + 9);
  EXPECT_EQ(error_code(m.request(send_frame(pair, "ten", "", nine))), "conflict");
}

}  // namespace
}  // namespace parley::test
