// The outbox: messages written while the server is down are sent in order
// when it is back; a client killed between write and send loses nothing and
// duplicates nothing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace parley::test {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.port()};
  TestUser alice = register_and_login(http, "alice");
  TestUser bob = register_and_login(http, "bob");
  TempDir dir;
  ConversationId direct = 0;

  void SetUp() override {
    make_contacts(http, alice, bob);
    direct = direct_conversation(http, alice, bob);
  }
};

TEST_F(OutboxTest, MessagesWrittenWhileTheServerIsDownAreSentInOrderWhenItReturns) {
  Runtime runtime;
  TcpProxy proxy;
  proxy.set_target(server.port());
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", proxy.port(), alice, recorder);

  server.kill9();
  proxy.set_target(0);
  proxy.drop_all();
  ASSERT_TRUE(recorder->wait_until([&] { return account->state() == ConnectionState::offline; }));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(account->send_text(direct, "offline " + std::to_string(i)));
  auto pending = account->history(direct).messages;
  ASSERT_EQ(pending.size(), 10u);
  for (const auto& message : pending) EXPECT_EQ(message.state, MessageState::pending);

  server.start();  // same data, a new port
  proxy.set_target(server.port());
  account->reconnect_now();
  ASSERT_TRUE(recorder->wait_until([&] {
    auto messages = account->history(direct).messages;
    return messages.size() == 10 && std::all_of(messages.begin(), messages.end(), [](const Message& m) {
             return m.state == MessageState::sent;
           });
  }));
  const auto history = server_history(HttpClient(server.port()), alice, direct);
  ASSERT_EQ(history.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(history[static_cast<std::size_t>(i)].text, "offline " + std::to_string(i));
    EXPECT_EQ(history[static_cast<std::size_t>(i)].seq, i + 1);
  }
}

TEST_F(OutboxTest, ConnectionCutBeforeTheAckIsRetriedWithoutDuplicates) {
  Runtime runtime;
  TcpProxy proxy;
  proxy.set_target(server.port());
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", proxy.port(), alice, recorder);
  // Queue a burst and cut the connection while it is in flight, several
  // times: some sends reached the server, their acks did not.
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(account->send_text(direct, "r" + std::to_string(round) + "-" + std::to_string(i)));
    proxy.drop_all();
  }
  ASSERT_TRUE(recorder->wait_until([&] {
    auto messages = account->history(direct, 0, 200).messages;
    return messages.size() == 100 && messages.back().state == MessageState::sent;
  }, 60s)) << [&] {
    std::string text;
    for (const auto& m : account->history(direct, 0, 200).messages) {
      text += std::to_string(m.seq) + ":" + m.text + ":" + std::to_string(static_cast<int>(m.state)) + ":" + m.error + " ";
    }
    for (const auto& e : recorder->errors()) text += "\nerror " + e.message;
    return text;
  }();
  const auto history = server_history(HttpClient(server.port()), alice, direct);
  ASSERT_EQ(history.size(), 100u);
  for (int round = 0, k = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i, ++k) {
      EXPECT_EQ(history[static_cast<std::size_t>(k)].text, "r" + std::to_string(round) + "-" + std::to_string(i));
    }
  }
}

TEST_F(OutboxTest, ALongOutboxStaysUnderTheServersRateLimitAndInOrder) {
  // 300 messages queued offline: more than the server's burst (200 frames),
  // so the engine must pace itself rather than be refused (and reordered).
  Runtime runtime;
  TcpProxy proxy;
  auto recorder = std::make_shared<Recorder>();
  proxy.set_target(server.port());
  auto account = signed_in_account(runtime, dir / "alice", proxy.port(), alice, recorder);
  proxy.set_target(0);
  proxy.drop_all();
  ASSERT_TRUE(recorder->wait_until([&] { return account->state() == ConnectionState::offline; }));
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(account->send_text(direct, "queued " + std::to_string(i)));
  proxy.set_target(server.port());
  account->reconnect_now();
  ASSERT_TRUE(recorder->wait_until([&] {
    auto messages = account->history(direct, 0, 400).messages;
    return messages.size() == 300 && std::all_of(messages.begin(), messages.end(), [](const Message& m) {
             return m.state == MessageState::sent;
           });
  }, 60s));
  const auto history = server_history(http, alice, direct);
  ASSERT_EQ(history.size(), 300u);
  for (std::size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i].text, "queued " + std::to_string(i));
  for (const auto& error : recorder->errors()) ADD_FAILURE() << "unexpected error: " << error.message;
}

// Runs the helper, which queues `texts` and then waits; kills it with
// SIGKILL as soon as it says the messages are written.
void write_then_kill(const std::string& url, const std::filesystem::path& folder, ConversationId conversation,
                     const std::vector<std::string>& texts) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> args{CLIENT_CRASH_HELPER, url, folder.string(), std::to_string(conversation)};
    args.insert(args.end(), texts.begin(), texts.end());
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
  while (said.find("written\n") == std::string::npos && (n = read(out[0], buffer, sizeof buffer)) > 0) {
    said.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_NE(said.find("written"), std::string::npos) << "the helper failed before writing";
  ASSERT_TRUE(WIFSIGNALED(status));
}

TEST_F(OutboxTest, ClientKilledBetweenWriteAndSendLosesNothingAndDuplicatesNothing) {
  // Sign the device in once, then close it.
  {
    Runtime runtime;
    auto recorder = std::make_shared<Recorder>();
    auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  }
  std::vector<std::string> expected;
  // Killed while the server is unreachable (certainly before any send), and
  // while it is reachable (killed anywhere between write, send and ack).
  TcpProxy nowhere;  // target 0: every connection is closed at once
  for (int round = 0; round < 6; ++round) {
    std::vector<std::string> texts;
    for (int i = 0; i < 5; ++i) texts.push_back("crash " + std::to_string(round) + "." + std::to_string(i));
    const auto url = url_of(round % 2 == 0 ? nowhere.port() : server.port());
    write_then_kill(url, dir / "alice", direct, texts);
    if (HasFatalFailure()) return;
    expected.insert(expected.end(), texts.begin(), texts.end());
  }
  // Restart the client for real: everything goes out once, in order.
  Runtime runtime;
  auto recorder = std::make_shared<Recorder>();
  auto opened = Account::open(runtime, options_for(url_of(server.port()), dir / "alice"));
  ASSERT_TRUE(opened) << opened.error().message;
  auto& account = *opened.value();
  account.set_listener(recorder);
  ASSERT_TRUE(recorder->wait_until([&] {
    auto messages = account.history(direct, 0, 100).messages;
    return messages.size() == expected.size() &&
           std::all_of(messages.begin(), messages.end(), [](const Message& m) { return m.state == MessageState::sent; });
  }, 30s));
  const auto history = server_history(http, alice, direct);
  ASSERT_EQ(history.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(history[i].text, expected[i]);
}

}  // namespace
}  // namespace parley::test
