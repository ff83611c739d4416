// Uploads continue across restarts of the app: a process sending a
// multi-MiB file is killed (SIGKILL) mid-upload; the next run continues the
// server's upload from the offset the server confirms and sends the message
// once, with the file's exact bytes. A file changed meanwhile starts over.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "support/media_client.hpp"

namespace parley::test {
namespace {

constexpr std::int64_t kFileBytes = 3 << 20;  // 12 parts of 256 KiB

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random() & 0xff);
  return bytes;
}

// Runs the crash helper sending `file`; SIGKILLs it once the server has
// confirmed at least `kill_after` bytes.
void send_then_kill(const std::string& url, const std::filesystem::path& folder, ConversationId conversation,
                    const std::filesystem::path& file, const std::string& caption, std::int64_t kill_after) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> args{CLIENT_CRASH_HELPER, url, folder.string(), "--send-file",
                                  std::to_string(conversation), file.string(), caption};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(CLIENT_CRASH_HELPER, argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string said;
  std::int64_t confirmed = 0;
  char buffer[256];
  ssize_t n = 0;
  while (confirmed < kill_after && (n = read(out[0], buffer, sizeof buffer)) > 0) {
    said.append(buffer, static_cast<std::size_t>(n));
    for (auto at = said.find("progress "); at != std::string::npos; at = said.find("progress ", at + 1)) {
      const auto end = said.find('\n', at);
      if (end == std::string::npos) break;
      confirmed = std::max<std::int64_t>(confirmed, std::stoll(said.substr(at + 9, end - at - 9)));
    }
  }
  kill(child, SIGKILL);
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_GE(confirmed, kill_after) << "the helper said: " << said;
  ASSERT_LT(confirmed, kFileBytes) << "the upload finished before the kill";
  ASSERT_TRUE(WIFSIGNALED(status));
}

// The server's upload id the store recorded (read with SQLite directly).
std::string recorded_upload_id(const std::filesystem::path& folder) {
  sqlite3* db = nullptr;
  std::string id;
  if (sqlite3_open_v2((folder / "store.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT upload_id FROM uploads", -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
      id = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return id;
}

class UploadResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_contacts(http, alice, bob);
    direct = direct_conversation(http, alice, bob);
    Runtime runtime;
    auto recorder = std::make_shared<Recorder>();
    auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  }

  // Opens Alice's device again and waits until the message with `caption`
  // is sent; returns its attachment's media id.
  MediaId restart_and_wait(const std::string& caption) {
    Runtime runtime;
    auto recorder = std::make_shared<Recorder>();
    auto opened = Account::open(runtime, options_for(url_of(server.port()), dir / "alice"));
    if (!opened) throw std::runtime_error(opened.error().message);
    auto account = std::move(opened.value());
    account->set_listener(recorder);
    MediaId media;
    const bool sent = recorder->wait_until(
        [&] {
          for (const auto& message : account->history(direct).messages) {
            if (message.text == caption && message.state == MessageState::sent && !message.attachments.empty()) {
              media = message.attachments.front().id;
              return account->pending_uploads().empty();
            }
          }
          return false;
        },
        60s);
    if (!sent) throw std::runtime_error("the file message was not sent after the restart");
    for (const auto& error : recorder->errors()) ADD_FAILURE() << "unexpected error: " << error.message;
    return media;
  }

  ServerProcess server;
  HttpClient http{server.port()};
  TestUser alice = register_and_login(http, "alice");
  TestUser bob = register_and_login(http, "bob");
  ConversationId direct = 0;
  TempDir dir;
};

TEST_F(UploadResumeTest, AnUploadKilledMidwayContinuesAfterTheRestartAndSendsOnce) {
  const auto content = random_bytes(kFileBytes, 7);
  const auto file = dir / "video.bin";
  std::ofstream(file, std::ios::binary) << content;
  send_then_kill(url_of(server.port()), dir / "alice", direct, file, "the big file", 768 * 1024);

  const auto upload_id = recorded_upload_id(dir / "alice");
  ASSERT_FALSE(upload_id.empty());
  auto before = http.get("/api/v1/uploads/" + upload_id, alice.token);
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_GE(before.json().at("upload").at("offset").as_int64(), 768 * 1024);

  const auto media = restart_and_wait("the big file");
  // The upload the killed process began is the one that was completed
  // (a new one would have left it open on the server).
  EXPECT_EQ(http.get("/api/v1/uploads/" + upload_id, alice.token).status, 404);
  int copies = 0;
  for (const auto& message : server_history(http, alice, direct)) copies += message.text == "the big file" ? 1 : 0;
  EXPECT_EQ(copies, 1);
  auto download = http.get("/api/v1/media/" + media, alice.token);
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(sha256_hex(download.body), sha256_hex(content));
}

TEST_F(UploadResumeTest, AFileChangedMeanwhileIsUploadedAgainFromTheStart) {
  const auto file = dir / "notes.bin";
  std::ofstream(file, std::ios::binary) << random_bytes(kFileBytes, 1);
  send_then_kill(url_of(server.port()), dir / "alice", direct, file, "the notes", 512 * 1024);
  const auto upload_id = recorded_upload_id(dir / "alice");
  ASSERT_FALSE(upload_id.empty());

  // Same size, other bytes, a later mtime.
  const auto changed = random_bytes(kFileBytes, 2);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << changed;
  std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) + std::chrono::seconds(5));

  const auto media = restart_and_wait("the notes");
  EXPECT_EQ(http.get("/api/v1/uploads/" + upload_id, alice.token).status, 404);  // dropped, not completed
  int copies = 0;
  for (const auto& message : server_history(http, alice, direct)) copies += message.text == "the notes" ? 1 : 0;
  EXPECT_EQ(copies, 1);
  auto download = http.get("/api/v1/media/" + media, alice.token);
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(sha256_hex(download.body), sha256_hex(changed));
}

}  // namespace
}  // namespace parley::test
