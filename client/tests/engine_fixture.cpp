#include "engine_fixture.hpp"

#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

namespace parley::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void Recorder::poke() {
  ++generation_;
  changed_.notify_all();
}

void Recorder::on_connection_state(ConnectionState state) {
  std::lock_guard lock(mutex_);
  states_.push_back(state);
  poke();
}

void Recorder::on_changes(const Changes&) {
  std::lock_guard lock(mutex_);
  poke();
}

void Recorder::on_error(const Error& error) {
  std::lock_guard lock(mutex_);
  errors_.push_back(error);
  poke();
}

void Recorder::on_typing(ConversationId, UserId, Millis) {
  std::lock_guard lock(mutex_);
  ++typing_;
  poke();
}

void Recorder::notify(const Notification& notification) {
  std::lock_guard lock(mutex_);
  notifications_.push_back(notification);
  poke();
}

bool Recorder::wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      seen = generation_;
    }
    if (predicate()) return true;
    std::unique_lock lock(mutex_);
    // Wakes at the next report; the short bound only covers a change that
    // happened between the predicate and this wait without a report of its own.
    changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + 200ms),
                        [&] { return generation_ != seen; });
    if (std::chrono::steady_clock::now() >= deadline) {
      lock.unlock();
      return predicate();
    }
  }
}

std::vector<Error> Recorder::errors() {
  std::lock_guard lock(mutex_);
  return errors_;
}

std::vector<Notification> Recorder::notifications() {
  std::lock_guard lock(mutex_);
  return notifications_;
}

std::vector<ConnectionState> Recorder::states() {
  std::lock_guard lock(mutex_);
  return states_;
}

int Recorder::typing_count() {
  std::lock_guard lock(mutex_);
  return typing_;
}

// --- TcpProxy --------------------------------------------------------------------------

struct TcpProxy::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::atomic<std::uint16_t> target{0};
  std::vector<std::weak_ptr<tcp::socket>> sockets;
  std::thread thread;

  asio::awaitable<void> pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    std::array<char, 16384> buffer{};
    while (true) {
      auto [error, n] = co_await from->async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (error) break;
      auto [write_error, written] =
          co_await asio::async_write(*to, asio::buffer(buffer.data(), n), asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_error) break;
    }
    boost::system::error_code ignored;
    from->close(ignored);
    to->close(ignored);
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      auto [error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (error) co_return;
      auto client = std::make_shared<tcp::socket>(std::move(socket));
      const auto port = target.load();
      if (port == 0) {
        boost::system::error_code ignored;
        client->close(ignored);
        continue;
      }
      auto server = std::make_shared<tcp::socket>(io);
      auto [connect_error] = co_await server->async_connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::as_tuple(asio::use_awaitable));
      if (connect_error) {
        boost::system::error_code ignored;
        client->close(ignored);
        continue;
      }
      sockets.push_back(client);
      sockets.push_back(server);
      asio::co_spawn(io, pipe(client, server), asio::detached);
      asio::co_spawn(io, pipe(server, client), asio::detached);
    }
  }
};

TcpProxy::TcpProxy() : impl_(std::make_unique<Impl>()) {
  impl_->acceptor.open(tcp::v4());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

TcpProxy::~TcpProxy() {
  impl_->io.stop();
  impl_->thread.join();
}

void TcpProxy::set_target(std::uint16_t port) { impl_->target = port; }

void TcpProxy::drop_all() {
  std::promise<void> done;
  asio::post(impl_->io, [this, &done] {
    for (auto& weak : impl_->sockets) {
      if (auto socket = weak.lock()) {
        boost::system::error_code ignored;
        socket->close(ignored);
      }
    }
    impl_->sockets.clear();
    done.set_value();
  });
  done.get_future().wait();
}

// --- helpers ------------------------------------------------------------------------------

std::string url_of(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

AliceAndBob::AliceAndBob(const ServerProcess& server)
    : http(server.port()), alice(register_and_login(http, "alice")), bob(register_and_login(http, "bob")) {
  make_contacts(http, alice, bob);
  direct = direct_conversation(http, alice, bob);
}

TwoDevices::TwoDevices(const ServerProcess& server, AccountOptions alice_options, AccountOptions bob_options)
    : AliceAndBob(server) {
  alice_account = signed_in_account(runtime, dir / "alice", server.port(), alice, alice_recorder, alice_options);
  bob_account = signed_in_account(runtime, dir / "bob", server.port(), bob, bob_recorder, bob_options);
}

std::unique_ptr<Account> signed_in_account(Runtime& runtime, const std::filesystem::path& dir, std::uint16_t port,
                                           const TestUser& user, const std::shared_ptr<Recorder>& recorder,
                                           AccountOptions options) {
  options.server_url = url_of(port);
  options.data_dir = dir;
  options.reconnect_min_ms = 50;
  options.reconnect_max_ms = 500;
  auto opened = Account::open(runtime, options);
  if (!opened) throw std::runtime_error("open: " + opened.error().message);
  auto account = std::move(opened.value());
  account->set_listener(recorder);
  account->set_notifier(recorder);
  auto signed_in = await_result<User>([&](auto done) { account->sign_in(user.username, user.password, done); });
  if (!signed_in) throw std::runtime_error("sign in: " + signed_in.error().message);
  if (!recorder->wait_until([&] { return account->state() == ConnectionState::online; })) {
    throw std::runtime_error("the account did not come online");
  }
  return account;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-client-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::vector<ServerMessage> server_history(const HttpClient& http, const TestUser& user, ConversationId conversation) {
  std::vector<ServerMessage> messages;
  std::int64_t after = 0;
  while (true) {
    auto reply = http.get("/api/v1/conversations/" + std::to_string(conversation) +
                              "/messages?limit=200&after=" + std::to_string(after),
                          user.token);
    if (reply.status != 200) throw std::runtime_error("history: HTTP " + std::to_string(reply.status));
    auto page = reply.json().as_object();
    for (const auto& entry : page.at("messages").as_array()) {
      const auto& m = entry.as_object();
      messages.push_back({m.at("seq").as_int64(), std::string(m.at("text").as_string()),
                          std::string(m.at("client_id").as_string())});
      after = m.at("seq").as_int64();
    }
    if (!page.at("has_more").as_bool()) break;
  }
  return messages;
}

}  // namespace parley::test
