// Shared pieces of the library's black-box tests: a real parleyd (through
// tests/support), accounts of the engine pointed at it, a listener that
// tests wait on, and a TCP proxy that can cut the engine off the server.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "parley/parley.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {

using namespace std::chrono_literals;

// Records what the engine reports; wait_until() re-checks its predicate at
// every report (the engine's events are what the tests wait for).
class Recorder : public Listener, public Notifier {
 public:
  void on_connection_state(ConnectionState state) override;
  void on_changes(const Changes& changes) override;
  void on_error(const Error& error) override;
  void on_typing(ConversationId conversation, UserId user, Millis expires) override;
  void notify(const Notification& notification) override;

  // True once `predicate` holds; false after `timeout`. The predicate runs
  // on the calling thread (it may read the store).
  bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout = 15s);

  std::vector<Error> errors();
  std::vector<Notification> notifications();
  std::vector<ConnectionState> states();
  int typing_count();

 private:
  void poke();
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
  std::vector<Error> errors_;
  std::vector<Notification> notifications_;
  std::vector<ConnectionState> states_;
  int typing_ = 0;
};

// Forwards TCP connections from its own port to the server's; with target
// 0 it accepts and closes at once, like a server that is down.
class TcpProxy {
 public:
  TcpProxy();
  ~TcpProxy();
  [[nodiscard]] std::uint16_t port() const { return port_; }
  void set_target(std::uint16_t port);
  // Closes every forwarded connection now.
  void drop_all();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

// Runs `call(callback)` and waits for the callback's Result.
template <typename T, typename Call>
Result<T> await_result(Call call, std::chrono::milliseconds timeout = 20s) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  call([promise](Result<T> result) { promise->set_value(std::move(result)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return Error{Errc::timeout, "the test waited too long for a callback", 0};
  }
  return future.get();
}

std::string url_of(std::uint16_t port);

// Opens an account in `dir` and signs in as `user` (password from tests/support),
// then waits until it is online. Fails the test otherwise.
std::unique_ptr<Account> signed_in_account(Runtime& runtime, const std::filesystem::path& dir, std::uint16_t port,
                                           const TestUser& user, const std::shared_ptr<Recorder>& recorder,
                                           AccountOptions options = {});

// A fresh temporary folder, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Alice and Bob, registered on `server`, contacts, with their direct
// conversation: where most tests start.
struct AliceAndBob {
  explicit AliceAndBob(const ServerProcess& server);
  HttpClient http;
  TestUser alice;
  TestUser bob;
  ConversationId direct = 0;
};

// AliceAndBob, each signed in on a device of their own (in `dir`) with a
// recorder each. The accounts are declared last, so they close before the
// runtime and the folder go.
struct TwoDevices : AliceAndBob {
  explicit TwoDevices(const ServerProcess& server, AccountOptions alice_options = {},
                      AccountOptions bob_options = {});
  TempDir dir;
  Runtime runtime;
  std::shared_ptr<Recorder> alice_recorder = std::make_shared<Recorder>();
  std::shared_ptr<Recorder> bob_recorder = std::make_shared<Recorder>();
  std::unique_ptr<Account> alice_account;
  std::unique_ptr<Account> bob_account;
};

// A fixture for TEST_F: a server of its own and TwoDevices on it, their
// members in the test's scope. The server is a base before TwoDevices, so
// it starts first and stops after the devices closed.
class ServerOfItsOwn {
 protected:
  explicit ServerOfItsOwn(ServerOptions options) : server(std::move(options)) {}
  ServerProcess server;
};

class TwoDeviceTest : public ::testing::Test, protected ServerOfItsOwn, protected TwoDevices {
 protected:
  explicit TwoDeviceTest(ServerOptions server_options = {}, AccountOptions alice_options = {},
                         AccountOptions bob_options = {})
      : ServerOfItsOwn(std::move(server_options)), TwoDevices(server, std::move(alice_options),
                                                              std::move(bob_options)) {}
};

// Every message of a conversation on the server, ascending, as (seq, text, client_id).
struct ServerMessage {
  std::int64_t seq;
  std::string text;
  std::string client_id;
};
std::vector<ServerMessage> server_history(const HttpClient& http, const TestUser& user, ConversationId conversation);

}  // namespace parley::test
