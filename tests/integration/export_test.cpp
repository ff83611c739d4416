// Personal data export, black box (POST /api/v1/me/export and its
// routes; docs/security.md "Personal data export"): what the archive holds
// (read back with libarchive), byte-identical media, the history's
// visibility rules (an ex-member's view ends when they left, as it was
// then; deleted messages absent), that nobody else's private data appears,
// who may download, one export at a time, the rate limit, expiry, a
// restart in the middle of a job, and account deletion.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <map>
#include <thread>

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
namespace fs = std::filesystem;

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }
std::string dump(const boost::json::value& value) { return boost::json::serialize(value); }

// Markers: text that must (or must never) be found in Alice's archive.
constexpr const char* kAliceFile = "ALICE-OWN-FILE-CONTENT-7f3a";
constexpr const char* kBobTeamFile = "BOB-TEAM-FILE-BYTES-91c2";        // Bob's file, in a group Alice is in
constexpr const char* kBobPrivateFile = "BOB-PRIVATE-FILE-BYTES-44d0";  // Bob's file, where Alice never was
constexpr const char* kSecretText = "SECRET-GROUP-TEXT-0b8e";           // a group Alice was never in
constexpr const char* kDaveName = "Dave Hidden-Contact-5e21";           // Bob's contact, a stranger to Alice
constexpr const char* kDaveStatus = "DAVE-STATUS-d77f";
constexpr const char* kDeletedText = "DELETED-TEXT-aa61";             // Alice's own message, deleted
constexpr const char* kAfterLeave = "AFTER-LEAVE-TEXT-c390";          // posted after Alice left
constexpr const char* kEditedAfterLeave = "EDITED-AFTER-LEAVE-2f17";  // an edit made after Alice left
constexpr const char* kBeforeLeave = "before-leave-text-e5d4";        // what Alice saw before leaving

std::string upload(const HttpClient& client, const TestUser& user, const std::string& name, const std::string& bytes) {
  auto reply = client.request("POST", "/api/v1/media?name=" + name, bytes, user.token, "application/octet-stream");
  if (reply.status != 201 && reply.status != 200) throw std::runtime_error("upload failed: " + reply.body);
  auto json = reply.json().as_object();
  return str((json.contains("media") ? json.at("media").as_object() : json).at("id"));
}

// A zip archive's entries, read with libarchive: name -> content.
std::map<std::string, std::string> read_zip(const std::string& bytes) {
  std::map<std::string, std::string> entries;
  struct archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    std::string error = archive_error_string(a) != nullptr ? archive_error_string(a) : "?";
    archive_read_free(a);
    throw std::runtime_error("not a zip archive: " + error);
  }
  struct archive_entry* entry = nullptr;
  int rc = 0;
  while ((rc = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(entry);
    std::string content;
    char buffer[65536];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0) content.append(buffer, static_cast<std::size_t>(n));
    if (n < 0) throw std::runtime_error("damaged entry " + name);
    if (!entries.emplace(name, std::move(content)).second) throw std::runtime_error("entry twice: " + name);
  }
  bool clean = rc == ARCHIVE_EOF;
  archive_read_free(a);
  if (!clean) throw std::runtime_error("damaged archive");
  return entries;
}

// Everything an archive holds, as one string to search: every entry's name
// and decompressed content, and the raw bytes of the file.
std::string everything(const std::string& raw, const std::map<std::string, std::string>& entries) {
  std::string all = raw;
  for (const auto& [name, content] : entries) all += "\n" + name + "\n" + content;
  return all;
}

struct World {
  explicit World(const std::string& extra_config = "[export]\nmin_interval_seconds = 0\n")
      : server(ServerOptions{extra_config, {}}), client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    a = std::make_unique<WsClient>(server.port());
    a->hello(alice.token);
    b = std::make_unique<WsClient>(server.port());
    b->hello(bob.token);
  }

  Reply start(const TestUser& user) const { return client.request("POST", "/api/v1/me/export", "", user.token); }

  // Polls the export until it leaves pending/running (or `want`), within 30 s.
  object wait_state(const TestUser& user, const std::string& id, const std::string& want) const {
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto reply = client.get("/api/v1/me/exports/" + id, user.token);
      if (reply.status != 200) throw std::runtime_error("poll: " + reply.body);
      auto view = reply.json().as_object();
      if (str(view.at("state")) == want) return view;
      if (Clock::now() > deadline) throw std::runtime_error("export stuck: " + reply.body);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Starts an export, waits for it and downloads it.
  std::pair<object, std::string> export_of(const TestUser& user) const {
    auto started = start(user);
    if (started.status != 202) throw std::runtime_error("start: " + started.body);
    auto id = str(started.json().at("id"));
    auto ready = wait_state(user, id, "ready");
    auto download = client.get(str(ready.at("download_url")), user.token);
    if (download.status != 200) throw std::runtime_error("download: " + download.body);
    return {ready, download.body};
  }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol;
  std::unique_ptr<WsClient> a, b;
};

// ---- what the archive holds, and what it never holds -------------------------

TEST(ExportTest, TheArchiveHoldsWhatTheUserCanReadAndNothingOfAnyoneElse) {
  World w;
  auto dave = register_and_login(w.client, "dave");
  ASSERT_EQ(w.client.patch("/api/v1/me", object{{"display_name", kDaveName}, {"status_text", kDaveStatus}}, dave.token)
                .status,
            200);
  make_contacts(w.client, w.alice, w.bob);
  make_contacts(w.client, w.alice, w.carol);
  make_contacts(w.client, w.bob, w.carol);
  make_contacts(w.client, w.bob, dave);  // Bob's contact; Alice never meets Dave

  // Alice's profile and avatar.
  auto avatar = upload(w.client, w.alice, "face.png", kTinyPng);
  ASSERT_EQ(
      w.client
          .patch("/api/v1/me", object{{"display_name", "Alice Exporter"}, {"avatar_media_id", avatar}}, w.alice.token)
          .status,
      200);

  auto team = create_group(w.client, w.bob, "team", {w.alice, w.carol});
  auto direct = direct_conversation(w.client, w.alice, w.bob);
  auto secret = create_group(w.client, w.bob, "secret", {w.carol});
  auto club = create_group(w.client, w.carol, "club", {w.alice, w.bob});
  auto c = std::make_unique<WsClient>(w.server.port());
  c->hello(w.carol.token);

  auto alice_file = upload(w.client, w.alice, "notes.TXT", kAliceFile);
  auto bob_team_file = upload(w.client, w.bob, "bob.txt", kBobTeamFile);
  auto bob_private_file = upload(w.client, w.bob, "private.txt", kBobPrivateFile);

  auto alice_with_file = send_text_ok(*w.a, team, "here are my notes", array{alice_file});
  auto bob_in_team = send_text_ok(*w.b, team, "and mine", array{bob_team_file});
  auto doomed = send_text_ok(*w.a, team, kDeletedText);
  expect_ok(*w.a, object{{"type", "delete"}, {"message_id", doomed}});
  auto hello = send_text_ok(*w.b, direct, "hello alice");
  send_text_ok(*w.b, secret, kSecretText, array{bob_private_file});
  auto before = send_text_ok(*c, club, kBeforeLeave);
  ASSERT_EQ(w.client.post("/api/v1/conversations/" + std::to_string(club) + "/leave", object{}, w.alice.token).status,
            204);
  send_text_ok(*c, club, kAfterLeave);
  expect_ok(*c, object{{"type", "edit"}, {"message_id", before}, {"text", kEditedAfterLeave}});

  auto [view, raw] = w.export_of(w.alice);
  EXPECT_EQ(view.at("size").as_int64(), static_cast<std::int64_t>(raw.size()));
  EXPECT_EQ(str(view.at("sha256")), sha256_hex(raw));
  EXPECT_EQ(view.at("progress").as_int64(), 100);
  auto entries = read_zip(raw);

  // The listing.
  auto media_entry = "media/" + alice_file + ".txt";
  auto avatar_entry = "media/" + avatar + ".png";
  std::set<std::string> names;
  for (const auto& [name, content] : entries) names.insert(name);
  std::set<std::string> expected{"profile.json",
                                 "contacts.json",
                                 "conversations.json",
                                 "manifest.json",
                                 "messages/" + std::to_string(team) + ".json",
                                 "messages/" + std::to_string(direct) + ".json",
                                 "messages/" + std::to_string(club) + ".json",
                                 media_entry,
                                 avatar_entry};
  EXPECT_EQ(names, expected);

  // The manifest: every other entry with its size and SHA-256.
  auto manifest = boost::json::parse(entries.at("manifest.json")).as_object();
  EXPECT_EQ(str(manifest.at("format")), "parley-export");
  EXPECT_EQ(manifest.at("format_version").as_int64(), 1);
  EXPECT_EQ(str(manifest.at("username")), "alice");
  std::set<std::string> listed;
  for (const auto& item : manifest.at("entries").as_array()) {
    auto name = str(item.at("name"));
    listed.insert(name);
    ASSERT_TRUE(entries.contains(name)) << name;
    EXPECT_EQ(item.at("size").as_int64(), static_cast<std::int64_t>(entries.at(name).size())) << name;
    EXPECT_EQ(str(item.at("sha256")), sha256_hex(entries.at(name))) << name;
  }
  expected.erase("manifest.json");
  EXPECT_EQ(listed, expected);

  // Media byte for byte: her file and her avatar, nothing of Bob's.
  EXPECT_EQ(entries.at(media_entry), kAliceFile);
  EXPECT_EQ(entries.at(avatar_entry), kTinyPng);

  // Profile and contacts.
  auto profile = boost::json::parse(entries.at("profile.json")).as_object();
  EXPECT_EQ(str(profile.at("user").at("display_name")), "Alice Exporter");
  EXPECT_EQ(str(profile.at("avatar_file")), avatar_entry);
  auto contacts = boost::json::parse(entries.at("contacts.json")).as_object();
  std::set<std::string> contact_names;
  for (const auto& contact : contacts.at("contacts").as_array())
    contact_names.insert(str(contact.at("user").at("username")));
  EXPECT_EQ(contact_names, (std::set<std::string>{"bob", "carol"}));

  // Messages: the team's (not the deleted one), the direct one, and the
  // club's as it was when she left.
  auto ids_in = [&](std::int64_t conversation) {
    std::vector<std::int64_t> ids;
    auto doc = boost::json::parse(entries.at("messages/" + std::to_string(conversation) + ".json")).as_object();
    for (const auto& message : doc.at("messages").as_array()) ids.push_back(message.at("id").as_int64());
    return ids;
  };
  EXPECT_EQ(ids_in(team), (std::vector<std::int64_t>{alice_with_file, bob_in_team}));
  EXPECT_EQ(ids_in(direct), (std::vector<std::int64_t>{hello}));
  EXPECT_EQ(ids_in(club), (std::vector<std::int64_t>{before}));
  auto club_doc = boost::json::parse(entries.at("messages/" + std::to_string(club) + ".json"));
  EXPECT_EQ(str(club_doc.at("messages").at(0).at("text")), kBeforeLeave);
  auto team_doc = boost::json::parse(entries.at("messages/" + std::to_string(team) + ".json"));
  EXPECT_EQ(str(team_doc.at("messages").at(0).at("attachment_files").at(0)), media_entry);

  auto conversations = boost::json::parse(entries.at("conversations.json")).as_object();
  std::map<std::int64_t, bool> membership;
  for (const auto& item : conversations.at("conversations").as_array()) {
    membership[item.at("id").as_int64()] = item.at("member").as_bool();
  }
  EXPECT_EQ(membership, (std::map<std::int64_t, bool>{{team, true}, {direct, true}, {club, false}}));

  // Nobody else's private data, anywhere in the file or its entries.
  auto all = everything(raw, entries);
  for (const char* marker : {kBobTeamFile, kBobPrivateFile, kSecretText, kDaveName, kDaveStatus, kDeletedText,
                             kAfterLeave, kEditedAfterLeave}) {
    EXPECT_EQ(all.find(marker), std::string::npos) << marker;
  }
  EXPECT_EQ(all.find("\"secret\""), std::string::npos);  // the group's name
  EXPECT_EQ(all.find(bob_private_file), std::string::npos);
  // The check can fail: what she may read is there.
  EXPECT_NE(all.find(kBeforeLeave), std::string::npos);
  EXPECT_NE(all.find(kAliceFile), std::string::npos);
}

// ---- who may download --------------------------------------------------------

TEST(ExportTest, OnlyTheOwnerSeesOrDownloadsAnExport) {
  World w;
  auto [view, raw] = w.export_of(w.alice);
  auto id = str(view.at("id"));
  auto path = "/api/v1/me/exports/" + id;

  EXPECT_EQ(w.client.get(path + "/download", w.alice.token).status, 200);
  for (const auto& target : {path, path + "/download"}) {
    auto by_bob = w.client.get(target, w.bob.token);
    EXPECT_EQ(by_bob.status, 404) << target;
    EXPECT_EQ(by_bob.error_code(), "not_found");
    EXPECT_EQ(by_bob.body.find("PK"), std::string::npos);  // never a byte of the zip
    EXPECT_EQ(w.client.get(target, "").status, 401) << target;
  }
  for (const auto& unknown :
       {std::string("AAAAAAAAAAAAAAAAAAAAAA"), std::string("..%2F..%2Fparley.db"), std::string("x"), id + "A"}) {
    auto reply = w.client.get("/api/v1/me/exports/" + unknown + "/download", w.alice.token);
    EXPECT_EQ(reply.status, 404) << unknown;
    EXPECT_EQ(reply.error_code(), "not_found") << unknown;
  }
  // Bob's own view: he has none.
  EXPECT_EQ(w.client.get("/api/v1/me/export", w.bob.token).status, 404);
  EXPECT_EQ(str(w.client.get("/api/v1/me/export", w.alice.token).json().at("id")), id);
}

// ---- one at a time, rate limit, restart mid-job --------------------------------

// A blob replaced by a FIFO holds the export job that reads it: open()
// blocks until the test opens the other end. That keeps one export running
// for as long as the test needs, without timing.
struct HeldBlob {
  HeldBlob(const fs::path& data_dir, const std::string& content) {
    auto digest = sha256_hex(content);
    path = data_dir / "media" / "blobs" / digest.substr(0, 2) / digest.substr(2);
    fs::remove(path);
    if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
  }
  // Lets the job go on: the job reads an empty file.
  void release() {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
  fs::path path;
};

TEST(ExportTest, OneExportAtATimeThenTheRateLimit) {
  World w("");  // the default limit: one a day
  auto file = upload(w.client, w.alice, "held.txt", "held file");
  auto direct = (make_contacts(w.client, w.alice, w.bob), direct_conversation(w.client, w.alice, w.bob));
  send_text_ok(*w.a, direct, "with a file", array{file});
  HeldBlob held(w.server.data_dir() / "data", "held file");

  auto first = w.start(w.alice);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_TRUE(first.headers.contains("location"));
  auto id = str(first.json().at("id"));
  w.wait_state(w.alice, id, "running");  // held at the FIFO

  auto second = w.start(w.alice);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.error_code(), "conflict");
  EXPECT_EQ(str(w.client.get("/api/v1/me/export", w.alice.token).json().at("id")), id);  // nothing new
  // Another user is not held up by the rule.
  auto bobs = w.start(w.bob);
  EXPECT_EQ(bobs.status, 202) << bobs.body;

  held.release();
  w.wait_state(w.alice, id, "ready");
  auto third = w.start(w.alice);
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_EQ(third.error_code(), "too_many_requests");
  ASSERT_TRUE(third.headers.contains("retry-after"));
  auto retry = std::stol(third.headers.at("retry-after"));
  EXPECT_GT(retry, 86000);
  EXPECT_LE(retry, 86400);
}

TEST(ExportTest, AnExportInterruptedByARestartFailsAndCanBeAskedAgain) {
  World w;
  auto file = upload(w.client, w.alice, "held.txt", "held file");
  auto direct = (make_contacts(w.client, w.alice, w.bob), direct_conversation(w.client, w.alice, w.bob));
  send_text_ok(*w.a, direct, "with a file", array{file});
  HeldBlob held(w.server.data_dir() / "data", "held file");
  auto first = w.start(w.alice);
  ASSERT_EQ(first.status, 202) << first.body;
  auto id = str(first.json().at("id"));
  // Copying the media comes last, after the archive's JSON entries: 3/4 of
  // the way with one conversation and one file. The job is at the FIFO then.
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (w.client.get("/api/v1/me/exports/" + id, w.alice.token).json().at("progress").as_int64() < 75) {
    ASSERT_LT(Clock::now(), deadline) << "the export never reached its media";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto exports_dir = w.server.data_dir() / "data" / "exports";
  EXPECT_EQ(count_files(exports_dir), 1U);  // the temporary archive

  w.a.reset();
  w.b.reset();
  w.server.kill9();
  fs::remove(held.path);  // the blob is gone for good: the export says so in its manifest
  w.server.start();
  HttpClient client(w.server.port());
  auto after = client.get("/api/v1/me/exports/" + id, w.alice.token);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(str(after.json().at("state")), "failed");
  EXPECT_NE(str(after.json().at("error")).find("restarted"), std::string::npos);
  EXPECT_EQ(count_files(exports_dir), 0U);  // the left-over is gone

  // A failed export does not count against the limit (here none) nor block.
  auto again = client.request("POST", "/api/v1/me/export", "", w.alice.token);
  ASSERT_EQ(again.status, 202) << again.body;
  auto again_id = str(again.json().at("id"));
  deadline = Clock::now() + std::chrono::seconds(30);
  object view;
  do {
    view = client.get("/api/v1/me/exports/" + again_id, w.alice.token).json().as_object();
    if (str(view.at("state")) == "ready") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < deadline);
  ASSERT_EQ(str(view.at("state")), "ready") << dump(view);
  auto raw = client.get(str(view.at("download_url")), w.alice.token).body;
  auto manifest = boost::json::parse(read_zip(raw).at("manifest.json"));
  EXPECT_EQ(manifest.at("missing_media").as_array().size(), 1U);
}

// ---- expiry and account deletion ----------------------------------------------

TEST(ExportTest, TheSweeperDeletesAnArchivePastItsExpiry) {
  // Three seconds, not one: the archive must still be there while the test
  // downloads and checks it, which a loaded machine (the PostgreSQL pass
  // beside other suites) can stretch past a second.
  World w("[export]\nmin_interval_seconds = 0\nexpiry_seconds = 3\nsweep_interval_seconds = 1\n");
  auto [view, raw] = w.export_of(w.alice);
  auto id = str(view.at("id"));
  EXPECT_LE(view.at("expires_at").as_int64() - view.at("finished_at").as_int64(), 3000);
  auto archive = w.server.data_dir() / "data" / "exports" / (id + ".zip");
  ASSERT_TRUE(fs::exists(archive));

  auto expired = w.wait_state(w.alice, id, "expired");
  EXPECT_TRUE(expired.at("download_url").is_null());
  EXPECT_FALSE(fs::exists(archive));
  auto download = w.client.get("/api/v1/me/exports/" + id + "/download", w.alice.token);
  EXPECT_EQ(download.status, 404);
  EXPECT_NE(download.body.find("expired"), std::string::npos) << download.body;
}

TEST(ExportTest, DeletingTheAccountDeletesItsExports) {
  World w;
  auto [view, raw] = w.export_of(w.alice);
  auto [bob_view, bob_raw] = w.export_of(w.bob);
  auto exports_dir = w.server.data_dir() / "data" / "exports";
  ASSERT_EQ(count_files(exports_dir), 2U);

  auto deleted = w.client.request("DELETE", "/api/v1/me", dump(object{{"password", w.alice.password}}), w.alice.token);
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  // Her archive is gone when the deletion answers; Bob's stays.
  EXPECT_FALSE(fs::exists(exports_dir / (str(view.at("id")) + ".zip")));
  EXPECT_TRUE(fs::exists(exports_dir / (str(bob_view.at("id")) + ".zip")));

  w.a.reset();  // no socket to wait for at shutdown
  w.b.reset();
  ASSERT_EQ(w.server.terminate(), 0);
  auto owners = query_data(w.server.data_dir(), "SELECT user_id FROM data_exports");
  EXPECT_EQ(owners, std::vector<std::string>{std::to_string(w.bob.id)});
}

}  // namespace
}  // namespace parley::test
