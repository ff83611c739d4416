#include "auth/password_hasher.hpp"

#include <stdexcept>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sodium.h>

#include "core/error.hpp"

namespace parley::auth {
namespace {

unsigned worker_count(const AuthOptions& options) {
  if (options.hash_workers != 0) return options.hash_workers;
  return std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace

PasswordHasher::PasswordHasher(const AuthOptions& options)
    : opslimit_(options.password_passes),
      memlimit_(options.password_memory_bytes),
      capacity_(worker_count(options) + options.hash_queue_limit),
      pool_(worker_count(options)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  dummy_hash_ = hash_now("parley-dummy-password-for-unknown-users");
}

PasswordHasher::~PasswordHasher() { pool_.join(); }

std::string PasswordHasher::hash_now(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), opslimit_, memlimit_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return out;
}

bool PasswordHasher::verify_now(std::string_view encoded, std::string_view password) {
  std::string terminated(encoded);  // libsodium wants a NUL-terminated string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

template <typename Result, typename Work>
boost::asio::awaitable<Result> PasswordHasher::on_pool(Work work) {
  if (pending_.fetch_add(1) >= capacity_) {
    pending_.fetch_sub(1);
    throw ApiError(ErrorCode::kServiceBusy, "too many logins in progress, try again shortly",
                   std::chrono::seconds(1));
  }
  struct Release {
    std::atomic<std::size_t>& pending;
    ~Release() { pending.fetch_sub(1); }
  } release{pending_};
  auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(pool_.get_executor(), boost::asio::use_awaitable);
  std::exception_ptr failure;
  Result result{};
  try {
    result = work();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  co_return result;
}

boost::asio::awaitable<std::string> PasswordHasher::hash(std::string password) {
  co_return co_await on_pool<std::string>([this, &password] { return hash_now(password); });
}

boost::asio::awaitable<bool> PasswordHasher::verify(std::string encoded, std::string password) {
  co_return co_await on_pool<bool>([&encoded, &password] { return verify_now(encoded, password); });
}

boost::asio::awaitable<bool> PasswordHasher::verify_dummy(std::string password) {
  co_await on_pool<bool>([this, &password] { return verify_now(dummy_hash_, password); });
  co_return false;
}

}  // namespace parley::auth
