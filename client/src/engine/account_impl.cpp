#include "engine/account_impl.hpp"

#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

namespace parley {

namespace asio = boost::asio;
namespace json = boost::json;

Error error_of(std::exception_ptr exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const Failure& failure) {
    return failure.error();
  } catch (const store::StoreError& error) {
    return Error{Errc::storage, error.what(), 0};
  } catch (const protocol::ProtocolError& error) {
    return Error{Errc::bad_response, error.what(), 0};
  } catch (const std::exception& error) {
    return Error{Errc::internal, error.what(), 0};
  }
}

// --- Runtime --------------------------------------------------------------------

Runtime::Impl::Impl() {
  thread = std::thread([this] {
    auto guard = asio::make_work_guard(io);
    io.run();
  });
}

Runtime::Impl::~Impl() {
  io.stop();
  thread.join();
}

void Runtime::Impl::run(std::function<void()> task) {
  if (io.get_executor().running_in_this_thread()) {
    task();
  } else {
    asio::post(io, std::move(task));
  }
}

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
Runtime::~Runtime() = default;

// --- Account::Impl ----------------------------------------------------------------

Account::Impl::Impl(Runtime::Impl& rt, AccountOptions opts, rest::Endpoint ep, int fd)
    : runtime(rt),
      options(std::move(opts)),
      endpoint(std::move(ep)),
      lock_fd(fd),
      backoff(std::chrono::milliseconds(options.reconnect_min_ms), std::chrono::milliseconds(options.reconnect_max_ms)),
      wake(rt.io),
      retry(rt.io) {}

Account::Impl::~Impl() {
  if (lock_fd >= 0) ::close(lock_fd);
}

void Account::Impl::deliver(std::function<void()> task) {
  auto flag = alive;
  auto guarded = [flag, task = std::move(task)] {
    if (flag->load()) task();
  };
  if (options.deliver) {
    options.deliver(std::move(guarded));
  } else {
    guarded();
  }
}

void Account::Impl::emit_changes(const Changes& changes) {
  if (changes.empty()) return;
  std::shared_ptr<Listener> target;
  {
    std::lock_guard lock(listeners_mutex);
    target = listener;
  }
  if (target) deliver([target, changes] { target->on_changes(changes); });
}

void Account::Impl::emit_error(const Error& error) {
  std::shared_ptr<Listener> target;
  {
    std::lock_guard lock(listeners_mutex);
    target = listener;
  }
  if (target) deliver([target, error] { target->on_error(error); });
}

void Account::Impl::set_state(ConnectionState next) {
  if (state.exchange(next) == next) return;
  std::shared_ptr<Listener> target;
  {
    std::lock_guard lock(listeners_mutex);
    target = listener;
  }
  if (target) deliver([target, next] { target->on_connection_state(next); });
}

void Account::Impl::spawn_detached(std::function<asio::awaitable<void>()> body) {
  auto self = shared_from_this();
  asio::co_spawn(
      runtime.io, [body = std::move(body)]() -> asio::awaitable<void> { co_await body(); },
      [self](std::exception_ptr exception) {
        if (exception && !self->closed) {
          auto error = error_of(exception);
          if (error.code != Errc::cancelled) self->emit_error(error);
        }
      });
}

asio::awaitable<json::value> Account::Impl::rest(const std::string& method, const std::string& target,
                                                 const json::value* body, bool authorized) {
  if (authorized && token.empty()) throw Failure(Errc::not_signed_in, "not signed in");
  rest::Request request;
  request.method = method;
  request.target = target;
  if (body != nullptr) request.body = json::serialize(*body);
  if (authorized) request.token = token;
  auto self = shared_from_this();
  auto reply = co_await rest::perform(endpoint, std::move(request), std::chrono::seconds(30));
  if (self->closed) throw Failure(Errc::cancelled, "the account was closed");
  if (reply.status == 204) co_return json::value();
  json::value parsed;
  try {
    parsed = protocol::parse_json(reply.body);
  } catch (const protocol::ProtocolError& error) {
    if (reply.status >= 200 && reply.status < 300) {
      throw Failure(Errc::bad_response, method + " " + target + ": " + error.what());
    }
    throw Failure(Error{reply.status == 401 ? Errc::unauthorized : Errc::bad_response,
                        method + " " + target + ": HTTP " + std::to_string(reply.status), reply.status});
  }
  if (reply.status < 200 || reply.status >= 300) {
    auto error = protocol::parse_error(parsed, reply.status);
    if (error.code == Errc::unauthorized && authorized) {
      // The session is gone (revoked, expired): the app must sign in again.
      forget_session();
    }
    throw Failure(std::move(error));
  }
  co_return parsed;
}

void Account::Impl::forget_session() {
  token.clear();
  if (store) {
    store::Store::Write write(*store);
    store->erase_meta(write, "token");
    write.commit();
  }
  if (connection) {
    auto conn = connection;
    on_disconnected();
    (void)conn;
  }
  wake.cancel();
  set_state(ConnectionState::signed_out);
}

void Account::Impl::shutdown() {
  closed = true;
  alive->store(false);
  wake.cancel();
  retry.cancel();
  on_disconnected();
  replies.clear();
  cache.reset();
  store.reset();
  if (lock_fd >= 0) {
    ::close(lock_fd);
    lock_fd = -1;
  }
}

}  // namespace parley
