// Defects seen from the terminal client, each with the test that found it:
// a conversation joined while away and a process that ends right after the
// catch-up; a file message without its attachments between its ack and its
// event.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

class RegressionTest : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.port()};
  TestUser alice = register_and_login(http, "alice");
  TestUser bob = register_and_login(http, "bob");
  TempDir dir;
};

// Runs the crash helper on `folder` until it ends itself in the first
// change notification naming `conversation`; returns what it printed.
std::string sync_until_conversation_then_exit(const std::string& url, const std::filesystem::path& folder,
                                              ConversationId conversation) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork");
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> args{CLIENT_CRASH_HELPER, url, folder.string(), "--exit-on-conversation",
                                  std::to_string(conversation)};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(CLIENT_CRASH_HELPER, argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string said;
  char buffer[64];
  ssize_t n = 0;
  // The helper exits by itself; bounded by the alarm-free wait below.
  while ((n = read(out[0], buffer, sizeof buffer)) > 0) said.append(buffer, static_cast<std::size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return said;
}

TEST_F(RegressionTest, AConversationJoinedWhileAwayIsLoadedEvenIfTheProcessEndsRightAfterTheCatchUp) {
  make_contacts(http, alice, bob);
  {
    Runtime runtime;
    auto recorder = std::make_shared<Recorder>();
    auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  }
  // While Alice's device is closed, Bob adds her to a group he has with
  // Carol: her device gets member.added (not the conversation itself) and
  // must load the group over REST.
  TestUser carol = register_and_login(http, "carol");
  make_contacts(http, bob, carol);
  const auto group = create_group(http, bob, "while away", {carol});
  {
    WsClient ws(server.port());
    ws.hello(bob.token);
    send_text_ok(ws, group, "hello group");
  }
  auto added = http.post("/api/v1/conversations/" + std::to_string(group) + "/members",
                         boost::json::object{{"username", "alice"}}, bob.token);
  ASSERT_LT(added.status, 300) << added.body;
  // A short-lived process syncs and ends as soon as the catch-up that
  // brought the group is committed (the position has moved past it).
  const auto said = sync_until_conversation_then_exit(url_of(server.port()), dir / "alice", group);
  ASSERT_NE(said.find("exiting"), std::string::npos) << said;

  // The next process must still have the group: loaded at its sync, not
  // lost because the position had already passed its event.
  Runtime runtime;
  auto recorder = std::make_shared<Recorder>();
  auto opened = Account::open(runtime, options_for(url_of(server.port()), dir / "alice"));
  ASSERT_TRUE(opened);
  auto account = std::move(opened.value());
  account->set_listener(recorder);
  ASSERT_TRUE(recorder->wait_until([&] { return account->state() == ConnectionState::online; }));
  // Online means the loads of conversations joined while away are done.
  auto loaded = account->conversation(group);
  ASSERT_TRUE(loaded.has_value()) << "the group joined while away was lost";
  EXPECT_EQ(loaded->name, "while away");
  const auto page = account->history(group);
  ASSERT_FALSE(page.messages.empty());
  EXPECT_EQ(page.messages.back().text, "hello group");
}

// Watches, on the engine thread, the first moment the own file message is
// `sent` (its ack), and what attachments it has then.
class AckWatcher : public Recorder {
 public:
  Account* account = nullptr;
  ConversationId conversation = 0;
  std::mutex mutex;
  std::optional<std::vector<Attachment>> at_ack;
  void on_changes(const Changes& changes) override {
    {
      std::lock_guard lock(mutex);
      if (!at_ack && account != nullptr) {
        for (const auto& message : account->history(conversation).messages) {
          if (message.text == "the report" && message.state == MessageState::sent) at_ack = message.attachments;
        }
      }
    }
    Recorder::on_changes(changes);
  }
};

TEST_F(RegressionTest, AFileMessageShowsItsAttachmentFromItsAckOn) {
  make_contacts(http, alice, bob);
  const auto direct = direct_conversation(http, alice, bob);
  Runtime runtime;
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  auto watcher = std::make_shared<AckWatcher>();
  watcher->account = account.get();
  watcher->conversation = direct;
  // No deliver function: on_changes runs on the engine thread right after
  // the ack is stored, before the message's own event is read.
  account->set_listener(watcher);
  std::ofstream(dir / "report.txt") << std::string(5000, 'r');
  auto sent = await_result<std::string>(
      [&](auto done) { account->send_file(direct, dir / "report.txt", "the report", nullptr, done); });
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(watcher->wait_until([&] {
    std::lock_guard lock(watcher->mutex);
    return watcher->at_ack.has_value();
  }));
  std::lock_guard lock(watcher->mutex);
  ASSERT_EQ(watcher->at_ack->size(), 1u) << "the acknowledged message had no attachment";
  EXPECT_EQ(watcher->at_ack->front().name, "report.txt");
  EXPECT_EQ(watcher->at_ack->front().size, 5000);
  EXPECT_EQ(watcher->at_ack->front().content_type.substr(0, 10), "text/plain");
}

}  // namespace
}  // namespace parley::test

namespace parley::test {
namespace {

TEST_F(RegressionTest, ASecondOpenIsRefusedAsInUseAndAReadOnlyOpenReadsMeanwhile) {
  make_contacts(http, alice, bob);
  const auto direct = direct_conversation(http, alice, bob);
  Runtime runtime;
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  WsClient ws(server.port());
  ws.hello(bob.token);
  send_text_ok(ws, direct, "first");
  ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 1; }));

  // A second writer is refused, clearly (flock is per open file: this
  // process's second open conflicts like another process's would).
  auto second = Account::open(runtime, options_for(url_of(server.port()), dir / "alice"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::in_use);
  EXPECT_NE(second.error().message.find("pid " + std::to_string(getpid())), std::string::npos)
      << second.error().message;

  // A reader works meanwhile and sees what the engine commits later.
  auto reader = Account::open_read_only(runtime, options_for(url_of(server.port()), dir / "alice"));
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_TRUE(reader.value()->read_only());
  ASSERT_EQ(reader.value()->history(direct).messages.size(), 1u);
  EXPECT_EQ(reader.value()->history(direct).messages.front().text, "first");
  send_text_ok(ws, direct, "second");
  ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 2; }));
  const auto seen = reader.value()->history(direct).messages;
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.back().text, "second");
  EXPECT_EQ(reader.value()->search_local("second").size(), 1u);
  EXPECT_EQ(reader.value()->state(), ConnectionState::signed_out);  // it never connects

  // Writing through the reader fails and changes nothing.
  auto refused = reader.value()->send_text(direct, "from the reader");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::storage);
  EXPECT_EQ(account->history(direct).messages.size(), 2u);
}

}  // namespace
}  // namespace parley::test
