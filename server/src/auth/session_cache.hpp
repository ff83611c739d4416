// Sessions from memory: token hash -> (session, user, last used), so that a
// device reconnecting with a token it used before costs no database read.
//
// Exactness (docs/architecture.md "Sessions from memory"): an entry is only
// ever removed by forget(), which every code path that deletes sessions
// calls after its commit and before it closes the sessions' connections or
// answers (Authenticator::sessions_ended). A fill races a deletion only
// through a database read that began before the deletion committed; such a
// read's result is dropped, because insert() takes the epoch read before
// the database read and refuses once any forget() has happened since. So
// after sessions_ended() returns, no lookup can find the session again.
//
// Bounded: beyond `capacity` entries the least recently used is evicted,
// which only costs that session one read at its next use.
//
// Thread-safe (one mutex; every operation is a few map operations).
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "storage/records.hpp"

namespace parley::auth {

class SessionCache {
 public:
  struct Entry {
    storage::UserId user_id = 0;
    storage::SessionId session_id = 0;
    // The newest use known: the database's last_seen_at or a later use
    // seen by this process.
    UnixMillis last_used = 0;
  };
  // Counts forget() calls; see insert().
  using Epoch = std::uint64_t;

  explicit SessionCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The current epoch: read it before the database read whose result is
  // then passed to insert().
  [[nodiscard]] Epoch epoch() const;

  // The session of `token_hash`, if cached (and marks it recently used).
  [[nodiscard]] std::optional<Entry> find(std::string_view token_hash);

  // Whether `session` is cached (it then exists: see the header comment).
  [[nodiscard]] bool holds(storage::SessionId session) const;

  // Caches a session read from the database, unless a forget() happened
  // after `read_at` was taken (the read may then predate a deletion).
  // Returns whether it was cached.
  bool insert(Epoch read_at, std::string token_hash, Entry entry);

  // Records a use of `session` (its last-used time), if cached.
  void used(storage::SessionId session, UnixMillis at);

  // These sessions were deleted (committed): they are never found again.
  void forget(const std::vector<storage::SessionId>& sessions);

  [[nodiscard]] std::size_t size() const;

 private:
  struct Node {
    std::string token_hash;
    Entry entry;
  };
  using List = std::list<Node>;

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Epoch epoch_ = 0;                                                  // guarded by mutex_
  List lru_;                                                         // most recent first; guarded by mutex_
  std::unordered_map<std::string_view, List::iterator> by_token_;    // keys view lru_'s strings; guarded by mutex_
  std::unordered_map<storage::SessionId, List::iterator> by_session_;  // guarded by mutex_
};

}  // namespace parley::auth
