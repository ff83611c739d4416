// argon2id password hashing on a bounded pool of worker threads.
//
// Hashing deliberately costs tens of milliseconds and tens of MiB; done on an
// I/O thread it would stall every connection on that thread. Here at most
// `workers` hashes run at once (which also caps their memory), and at most
// `queue_limit` more may wait; beyond that callers get ApiError kServiceBusy
// (503) at once instead of queuing without bound.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/config.hpp"

namespace parley::auth {

class PasswordHasher {
 public:
  explicit PasswordHasher(const AuthOptions& options);
  ~PasswordHasher();  // waits for running hashes

  // The encoded argon2id hash (salt and parameters included) of `password`.
  boost::asio::awaitable<std::string> hash(std::string password);

  // True when `password` matches `encoded`. A malformed hash is a mismatch.
  boost::asio::awaitable<bool> verify(std::string encoded, std::string password);

  // Does the work of a verify against a fixed hash and returns false; used for
  // unknown usernames so they cost the same time as wrong passwords.
  boost::asio::awaitable<bool> verify_dummy(std::string password);

  // Synchronous forms for tests and tools; they bypass the pool.
  [[nodiscard]] std::string hash_now(std::string_view password) const;
  [[nodiscard]] static bool verify_now(std::string_view encoded, std::string_view password);

 private:
  // Runs `work` on the pool and resumes the caller on its own executor.
  template <typename Result, typename Work>
  boost::asio::awaitable<Result> on_pool(Work work);

  unsigned long long opslimit_;
  std::size_t memlimit_;
  std::size_t capacity_;  // workers + queue limit
  std::atomic<std::size_t> pending_{0};
  std::string dummy_hash_;
  boost::asio::thread_pool pool_;
};

}  // namespace parley::auth
