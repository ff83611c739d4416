// `parleyd backup` and `parleyd restore`, black box: a backup taken while a
// sender keeps sending holds every message acked before it began, restores
// into a database that passes integrity_check and serves the same media
// bytes; damaged or incomplete backups and non-empty targets are refused;
// the blob sweeper leaves blobs alone while a backup holds its lock; and
// devices of a restored server resume or resync according to their position.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "support/http_client.hpp"
#include "support/media_client.hpp"
#include "support/parleyd_command.hpp"
#include "support/pg_database.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

namespace fs = std::filesystem;
using boost::json::object;
using Clock = std::chrono::steady_clock;

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }

std::pair<int, std::string> backup(const ServerProcess& server, const fs::path& dest) {
  auto result = run_parleyd_on(server, {"backup", dest.string()});
  return {result.exit_code, result.output};
}

std::pair<int, std::string> restore(const ServerProcess& server, const fs::path& src, const fs::path& target) {
  auto result = run_parleyd_on(server, {"restore", src.string()}, target);
  return {result.exit_code, result.output};
}

// PRAGMA integrity_check and the message ids of a (stopped) database.
struct DbProbe {
  std::string integrity;
  std::set<std::int64_t> message_ids;
};
DbProbe probe_database(const fs::path& path) {
  DbProbe probe;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    probe.integrity = "cannot open";
    sqlite3_close(db);
    return probe;
  }
  sqlite3_stmt* stmt = nullptr;
  std::vector<std::string> lines;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW)
    lines.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  // SQLite 3.40.x reports "NULL value in T.C" for NOT NULL columns of some
  // WITHOUT ROWID tables (message_attachments) where there is none, on any
  // database: such a line counts only if typeof() finds a NULL there.
  static const std::regex null_line(R"(^NULL value in ([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$)");
  for (const auto& line : lines) {
    std::smatch match;
    if (std::regex_match(line, match, null_line)) {
      std::string sql =
          "SELECT COUNT(*) FROM \"" + match[1].str() + "\" WHERE typeof(\"" + match[2].str() + "\") = 'null'";
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
      bool real = sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int64(stmt, 0) > 0;
      sqlite3_finalize(stmt);
      if (!real) continue;
    }
    probe.integrity += (probe.integrity.empty() ? "" : "; ") + line;
  }
  if (probe.integrity.empty()) probe.integrity = "ok";
  sqlite3_prepare_v2(db, "SELECT id FROM messages", -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) probe.message_ids.insert(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return probe;
}

std::int64_t acked_id(const object& reply) {
  if (str(reply.at("type")) != "ack") throw std::runtime_error("not acked: " + boost::json::serialize(reply));
  return reply.at("message_id").as_int64();
}

object upload(const HttpClient& client, const TestUser& user, const std::string& name, const std::string& bytes) {
  auto reply = client.request("POST", "/api/v1/media?name=" + name, bytes, user.token, "application/octet-stream");
  if (reply.status != 201 && reply.status != 200) throw std::runtime_error("upload refused: " + reply.body);
  auto json = reply.json().as_object();
  return json.contains("media") ? json.at("media").as_object() : json;
}

// Flips one byte in the middle of `path`.
void flip_byte(const fs::path& path) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  auto size = static_cast<std::streamoff>(fs::file_size(path));
  file.seekg(size / 2);
  char c = 0;
  file.get(c);
  file.seekp(size / 2);
  file.put(static_cast<char>(c ^ 0x01));
}

fs::path first_blob(const fs::path& backup_dir) {
  for (const auto& entry : fs::recursive_directory_iterator(backup_dir / "media" / "blobs")) {
    if (entry.is_regular_file()) return entry.path();
  }
  throw std::runtime_error("no blob in backup");
}

bool empty_or_missing(const fs::path& path) { return !fs::exists(path) || fs::is_empty(path); }

// ---- a backup under send load, restored ---------------------------------------------------------

TEST(BackupTest, BackupUnderSendLoadRestoresEveryAckedMessageAndTheSameMediaBytes) {
  if (postgres_backend_selected()) GTEST_SKIP() << "SQLite by nature: parleyd backup copies parley.db (PostgreSQL is backed up with its own tools)";
  // The sender sends as fast as acks come back, hundreds a second for as
  // long as the backup takes (seconds for an instrumented build on a slow
  // machine): far past the default frame budget of a session, whose refusals
  // would drop sends. The rate limit has tests of its own.
  ServerProcess server{ServerOptions{"[stickers]\ninstall_default_pack = true\n"
                                     "[websocket]\nframes_per_second = 100000\nframe_burst = 100000\n"
                                     "user_frames_per_second = 100000\nuser_frame_burst = 100000\n",
                                     {}}};
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  make_contacts(client, alice, bob);
  std::int64_t direct = direct_conversation(client, alice, bob);

  // Media: an attachment (and a second file sent with it), and a sticker.
  std::string big = pattern(0, 300 * 1024);
  std::string small = "a small text file\n";
  std::string big_id = str(upload(client, alice, "big.bin", big).at("id"));
  std::string small_id = str(upload(client, alice, "notes.txt", small).at("id"));
  WsClient a(server.port());
  a.hello(alice.token, 0);
  std::set<std::int64_t> acked_before;
  boost::json::array attachments{boost::json::string(big_id), boost::json::string(small_id)};
  acked_before.insert(acked_id(a.request(object{{"type", "send"},
                                                {"conversation_id", direct},
                                                {"client_id", "files"},
                                                {"text", "two files"},
                                                {"attachments", attachments}})));
  auto pack = client.get("/api/v1/sticker-packs/parley-default", alice.token).json().at("pack").as_object();
  auto sticker = pack.at("stickers").at(2).as_object();
  ASSERT_EQ(client.put("/api/v1/me/sticker-packs/parley-default", object{}, alice.token).status, 200);
  acked_before.insert(acked_id(a.request(
      object{{"type", "send"}, {"conversation_id", direct}, {"client_id", "st"}, {"sticker", sticker.at("id")}})));
  std::string sticker_url = str(sticker.at("image_url"));
  auto sticker_image = client.get(sticker_url, bob.token);
  ASSERT_EQ(sticker_image.status, 200);
  std::string sticker_sha = sha256_hex(sticker_image.body);
  ASSERT_EQ(download(server.port(), "/api/v1/media/" + big_id, alice.token).sha256, sha256_hex(big));

  // The sender: sends and waits for each ack, without pause, until told to stop.
  std::mutex mutex;
  std::condition_variable acked_cv;
  std::vector<std::int64_t> acked;
  std::atomic<bool> stop{false};
  std::string sender_error;
  std::thread sender([&] {
    try {
      WsClient ws(server.port());
      ws.hello(alice.token, std::nullopt);
      for (int i = 0; !stop; ++i) {
        auto reply = ws.send_message(direct, "load-" + std::to_string(i), "message under load " + std::to_string(i));
        std::int64_t id = acked_id(reply);
        std::lock_guard lock(mutex);
        acked.push_back(id);
        acked_cv.notify_all();
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      sender_error = e.what();
      acked_cv.notify_all();
    }
  });
  auto wait_acks = [&](std::size_t count) {
    std::unique_lock lock(mutex);
    return acked_cv.wait_for(lock, 30s, [&] { return acked.size() >= count || !sender_error.empty(); }) &&
           sender_error.empty();
  };

  ASSERT_TRUE(wait_acks(50)) << sender_error;
  std::size_t acked_at_start = 0;
  {
    std::lock_guard lock(mutex);
    acked_before.insert(acked.begin(), acked.end());
    acked_at_start = acked.size();
  }
  TempDir backups;
  fs::path dest = backups.path() / "b1";
  auto [status, out] = backup(server, dest);
  std::size_t acked_at_end = 0;
  {
    std::lock_guard lock(mutex);
    acked_at_end = acked.size();
  }
  // The server kept accepting sends after the backup too.
  bool still_sending = wait_acks(acked_at_end + 20);
  stop = true;
  sender.join();
  ASSERT_TRUE(still_sending) << sender_error;
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("backup complete"), std::string::npos) << out;
  std::cout << "[          ] " << out << "[          ] sends acked during the backup: " << acked_at_end - acked_at_start
            << '\n';

  // The backup's files are private.
  EXPECT_EQ(fs::status(dest).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(dest / "parley.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(dest / "manifest.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto manifest = boost::json::parse(read_file(dest / "manifest.json")).as_object();
  EXPECT_EQ(manifest.at("format_version").as_int64(), 1);
  EXPECT_GT(manifest.at("schema_version").as_int64(), 0);
  // Two uploads and the default pack's images.
  EXPECT_GE(manifest.at("blobs").as_array().size(), 2U + pack.at("stickers").as_array().size());

  // Restore into a new folder, then look at the database and start a server on it.
  TempDir restored_root;
  fs::path restored = restored_root.path() / "data";
  auto [restore_status, restore_out] = restore(server, dest, restored);
  ASSERT_EQ(restore_status, 0) << restore_out;
  EXPECT_NE(restore_out.find("integrity_check ok"), std::string::npos) << restore_out;
  auto probe = probe_database(restored / "parley.db");
  EXPECT_EQ(probe.integrity, "ok");
  std::vector<std::int64_t> missing;
  for (auto id : acked_before) {
    if (!probe.message_ids.contains(id)) missing.push_back(id);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " acked messages missing, first " << missing.front();
  EXPECT_GE(probe.message_ids.size(), acked_before.size());

  server.terminate();
  ServerProcess again{ServerOptions{"[stickers]\ninstall_default_pack = true\n", restored_root.path()}};
  EXPECT_EQ(download(again.port(), "/api/v1/media/" + big_id, alice.token).sha256, sha256_hex(big));
  EXPECT_EQ(download(again.port(), "/api/v1/media/" + small_id, bob.token).sha256, sha256_hex(small));
  auto image_again = HttpClient(again.port()).get(sticker_url, bob.token);
  ASSERT_EQ(image_again.status, 200);
  EXPECT_EQ(sha256_hex(image_again.body), sticker_sha);
  // History over the API holds the first message with its files.
  auto history = HttpClient(again.port())
                     .get("/api/v1/conversations/" + std::to_string(direct) + "/messages?after=0&limit=5", bob.token);
  ASSERT_EQ(history.status, 200) << history.body;
  auto first = history.json().at("messages").at(0).as_object();
  EXPECT_EQ(str(first.at("text")), "two files");
  EXPECT_EQ(first.at("attachments").as_array().size(), 2U);
}

// ---- refusals --------------------------------------------------------------------------------

TEST(BackupTest, DamagedOrIncompleteBackupsAndNonEmptyTargetsAreRefused) {
  if (postgres_backend_selected()) GTEST_SKIP() << "SQLite by nature: parleyd backup copies parley.db (PostgreSQL is backed up with its own tools)";
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  upload(client, alice, "file.bin", pattern(0, 64 * 1024));
  TempDir work;
  fs::path good = work.path() / "good";
  auto [status, out] = backup(server, good);
  ASSERT_EQ(status, 0) << out;

  // A destination that is not empty.
  auto [again_status, again_out] = backup(server, good);
  EXPECT_EQ(again_status, 1);
  EXPECT_NE(again_out.find("is not empty"), std::string::npos) << again_out;

  auto variant = [&](const std::string& name) {
    fs::path copy = work.path() / name;
    fs::copy(good, copy, fs::copy_options::recursive);
    return copy;
  };
  fs::path bad_db = variant("bad-db");
  flip_byte(bad_db / "parley.db");
  fs::path bad_blob = variant("bad-blob");
  flip_byte(first_blob(bad_blob));
  fs::path no_manifest = variant("no-manifest");
  fs::remove(no_manifest / "manifest.json");
  fs::path newer = variant("newer");
  auto manifest = boost::json::parse(read_file(newer / "manifest.json")).as_object();
  manifest["schema_version"] = 9999;
  std::ofstream(newer / "manifest.json", std::ios::trunc) << boost::json::serialize(manifest);

  struct Case {
    fs::path src;
    std::string message;
  };
  for (const auto& [src, message] : std::vector<Case>{{bad_db, "checksum mismatch"},
                                                      {bad_blob, "checksum mismatch"},
                                                      {no_manifest, "has no manifest.json"},
                                                      {newer, "newer than this parleyd"}}) {
    fs::path target = work.path() / ("target-" + src.filename().string());
    auto [s, o] = restore(server, src, target);
    EXPECT_EQ(s, 1) << src << ": " << o;
    EXPECT_NE(o.find(message), std::string::npos) << src << ": " << o;
    EXPECT_TRUE(empty_or_missing(target)) << src << ": something was restored";
  }

  // A target that is not empty is left alone.
  fs::path occupied = work.path() / "occupied";
  fs::create_directories(occupied);
  std::ofstream(occupied / "keep.txt") << "mine";
  auto [occupied_status, occupied_out] = restore(server, good, occupied);
  EXPECT_EQ(occupied_status, 1);
  EXPECT_NE(occupied_out.find("is not empty"), std::string::npos) << occupied_out;
  EXPECT_EQ(read_file(occupied / "keep.txt"), "mine");
  EXPECT_FALSE(fs::exists(occupied / "parley.db"));

  // The intact backup restores.
  auto [ok_status, ok_out] = restore(server, good, work.path() / "fresh");
  EXPECT_EQ(ok_status, 0) << ok_out;
  EXPECT_EQ(probe_database(work.path() / "fresh" / "parley.db").integrity, "ok");
}

// ---- the blob sweeper and a running backup -------------------------------------------------------

TEST(BackupTest, TheBlobSweeperDeletesNothingWhileABackupHoldsTheLock) {
  if (postgres_backend_selected()) GTEST_SKIP() << "SQLite by nature: parleyd backup copies parley.db (PostgreSQL is backed up with its own tools)";
  ServerProcess server{ServerOptions{"[media]\norphan_grace_seconds = 1\nsweep_interval_seconds = 1\n", {}}};
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  fs::path media = server.data_dir() / "data" / "media";
  // What parleyd backup holds from its snapshot until its last blob is copied.
  int lock = ::open((media / "sweep.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_SH), 0);

  // An upload that nothing refers to: the orphan sweeper drops its row after
  // the grace, which leaves its blob unreferenced.
  std::string bytes = pattern(0, 10000);
  std::string id = str(upload(client, alice, "loose.bin", bytes).at("id"));
  std::string sha = sha256_hex(bytes);
  fs::path blob = media / "blobs" / sha.substr(0, 2) / sha.substr(2);
  ASSERT_TRUE(fs::exists(blob));
  auto deadline = Clock::now() + 20s;
  while (client.get("/api/v1/media/" + id, alice.token).status != 404 && Clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(client.get("/api/v1/media/" + id, alice.token).status, 404) << "the orphan sweeper never ran";
  // Two blob sweeps after that, both skipped: the blob stays.
  auto skipped = [&] {
    std::string log = server.log();
    std::size_t count = 0;
    for (auto at = log.find("blob sweep skipped"); at != std::string::npos;
         at = log.find("blob sweep skipped", at + 1)) {
      ++count;
    }
    return count;
  };
  std::size_t seen = skipped();
  deadline = Clock::now() + 20s;
  while (skipped() < seen + 2 && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_GE(skipped(), seen + 2) << server.log();
  EXPECT_TRUE(fs::exists(blob));

  // Once the backup is done, the next sweep deletes it.
  ::close(lock);
  deadline = Clock::now() + 20s;
  while (fs::exists(blob) && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fs::exists(blob));
}

// ---- devices of a restored server ----------------------------------------------------------------

TEST(BackupTest, DevicesAheadOfARestoredServerResyncAndDevicesBehindItResume) {
  if (postgres_backend_selected()) GTEST_SKIP() << "SQLite by nature: parleyd backup copies parley.db (PostgreSQL is backed up with its own tools)";
  ServerProcess server;
  HttpClient client(server.port());
  auto alice = register_and_login(client, "alice");
  auto bob = register_and_login(client, "bob");
  auto bob_tablet = login(client, "bob", bob.password, "tablet");
  make_contacts(client, alice, bob);
  std::int64_t direct = direct_conversation(client, alice, bob);
  WsClient a(server.port());
  a.hello(alice.token, 0);
  acked_id(a.send_message(direct, "m1", "one"));

  // The tablet syncs now, then goes offline.
  std::int64_t tablet_position = 0;
  {
    WsClient tablet(server.port());
    tablet_position = tablet.hello(bob_tablet.token, 0).position;
  }
  auto ack2 = a.send_message(direct, "m2", "two, before the backup");
  acked_id(ack2);

  TempDir work;
  auto [status, out] = backup(server, work.path() / "backup");
  ASSERT_EQ(status, 0) << out;

  // After the backup: more messages, and the phone syncs past the backup.
  acked_id(a.send_message(direct, "m3", "three, after the backup"));
  std::int64_t phone_position = 0;
  {
    WsClient phone(server.port());
    phone_position = phone.hello(bob.token, 0).position;
  }
  ASSERT_GT(phone_position, ack2.at("position").as_int64());
  server.terminate();

  TempDir restored_root;
  auto [restore_status, restore_out] = restore(server, work.path() / "backup", restored_root.path() / "data");
  ASSERT_EQ(restore_status, 0) << restore_out;
  ServerProcess restored{ServerOptions{"", restored_root.path()}};

  // The phone is ahead of the restored server: it must reload over REST.
  WsClient phone(restored.port());
  auto phone_caught = phone.hello(bob.token, phone_position);
  EXPECT_EQ(str(phone_caught.marker.at("type")), "resync_required") << boost::json::serialize(phone_caught.marker);
  EXPECT_LT(phone_caught.marker.at("position").as_int64(), phone_position);

  // The tablet is behind it: it catches up with what the backup holds.
  WsClient tablet(restored.port());
  auto tablet_caught = tablet.hello(bob_tablet.token, tablet_position);
  EXPECT_EQ(str(tablet_caught.marker.at("type")), "synced") << boost::json::serialize(tablet_caught.marker);
  std::vector<std::string> texts;
  for (const auto& event : tablet_caught.events) {
    if (event.at("event").at("type") == "message.new") texts.push_back(str(event.at("event").at("message").at("text")));
  }
  EXPECT_EQ(texts, std::vector<std::string>{"two, before the backup"});

  // And the restored server serves: a new message reaches the tablet live.
  WsClient sender(restored.port());
  sender.hello(alice.token, std::nullopt);
  acked_id(sender.send_message(direct, "m4", "four, after the restore"));
  object live;
  do {
    live = tablet.next_of_type("event", 10s);
  } while (live.at("event").at("type") != "message.new");
  EXPECT_EQ(str(live.at("event").at("message").at("text")), "four, after the restore");
}

}  // namespace
}  // namespace parley::test
