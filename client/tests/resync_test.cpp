// resync_required: the server was restored from an older backup, so the
// device's position is ahead of it. The device reloads over REST and ends
// with exactly the server's state, then follows it live.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

int run_parleyd(const ServerProcess& server, const std::filesystem::path& data, std::vector<std::string> args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> all{"parleyd", "--config", (server.data_dir() / "test.toml").string(), "--data-dir",
                                 data.string()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : all) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (freopen("/dev/null", "w", stdout) == nullptr) _exit(127);
    execv(PARLEYD_PATH, argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ResyncTest, AServerRestoredFromAnOlderBackupMakesTheDeviceReloadToExactlyItsState) {
  ServerProcess server;
  AliceAndBob users(server);
  auto& [http, alice, bob, direct] = users;
  TempDir dir;
  Runtime runtime;
  TcpProxy proxy;
  proxy.set_target(server.port());
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", proxy.port(), alice, recorder);

  int sent = 0;
  const auto bob_sends = [&](std::uint16_t port, const std::string& text) {
    WsClient ws(port);
    ws.hello(bob.token);
    auto ack = ws.send_message(direct, "bob-" + std::to_string(++sent), text);
    ASSERT_EQ(ack.at("type").as_string(), "ack");
  };
  for (int i = 0; i < 3; ++i) bob_sends(server.port(), "kept " + std::to_string(i));
  ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 3; }));
  ASSERT_EQ(run_parleyd(server, server.data_dir() / "data", {"backup", (dir / "backup").string()}), 0);

  // After the backup: more messages, a group; the device sees them all.
  for (int i = 0; i < 3; ++i) bob_sends(server.port(), "lost " + std::to_string(i));
  ASSERT_TRUE(await_result<ConversationId>([&](auto done) { account->create_group("lost group", {"bob"}, done); }));
  ASSERT_TRUE(recorder->wait_until([&] {
    return account->history(direct).messages.size() == 6 && account->conversations().size() == 2;
  }));
  const auto position_before = account->position();

  // The server is restored from the backup (in a new folder) and restarted.
  server.terminate();
  const auto restored = dir / "restored";
  ASSERT_EQ(run_parleyd(server, restored, {"restore", (dir / "backup").string()}), 0);
  std::filesystem::remove_all(server.data_dir() / "data");
  std::filesystem::rename(restored, server.data_dir() / "data");
  server.start();
  proxy.set_target(server.port());
  account->reconnect_now();

  // resync_required: the reload drops what the server no longer has.
  ASSERT_TRUE(recorder->wait_until([&] {
    return account->state() == ConnectionState::online && account->position() < position_before &&
           account->history(direct).messages.size() == 3 && account->conversations().size() == 1;
  })) << account->position() << " " << position_before;
  // Then it follows the restored server live; seqs the lost messages had
  // are given to new ones.
  bob_sends(server.port(), "after the restore");
  ASSERT_TRUE(recorder->wait_until([&] { return account->history(direct).messages.size() == 4; }));
  const auto server_side = server_history(HttpClient(server.port()), alice, direct);
  const auto device_side = account->history(direct).messages;
  ASSERT_EQ(server_side.size(), device_side.size());
  for (std::size_t i = 0; i < server_side.size(); ++i) {
    EXPECT_EQ(device_side[i].seq, server_side[i].seq);
    EXPECT_EQ(device_side[i].text, server_side[i].text);
  }
  EXPECT_EQ(device_side.back().text, "after the restore");
  EXPECT_TRUE(account->search_local("lost").empty());
}

}  // namespace
}  // namespace parley::test
