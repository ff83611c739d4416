// The storage interface. Handlers and services talk to this, never to a
// database: SQLite is the embedded backend, and a PostgreSQL backend
// implements the same interface for clustered deployments.
//
// Work happens in transactions. Store::read runs a function against a
// consistent snapshot; Store::write runs it atomically: either everything it
// did is committed (durably, per the backend's durability setting) when write
// returns, or, if the function throws, nothing is. Functions passed in must
// not block on anything but the transaction itself, and must not start
// another transaction.
//
// Thread safety: Store is safe to use from any thread. A Transaction belongs
// to the thread that runs the function and must not escape it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "storage/records.hpp"

namespace parley::storage {

// Primitive operations inside one transaction. Business rules live above
// this layer (in services), so that every backend enforces the same rules.
// Methods that modify rows assume a write transaction.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // Users.
  // Returns nullopt when the username is taken.
  virtual std::optional<User> insert_user(const NewUser& user) = 0;
  virtual std::optional<User> user_by_id(UserId id) = 0;
  virtual std::optional<User> user_by_username(std::string_view username) = 0;
  virtual std::optional<std::string> password_hash(UserId id) = 0;
  virtual void set_password_hash(UserId id, std::string_view hash) = 0;
  virtual void update_user(UserId id, const ProfilePatch& patch) = 0;

  // Per-conversation notification mutes.
  virtual std::vector<ConversationMute> mutes(UserId user) = 0;
  virtual void set_mute(UserId user, ConversationId conversation, UnixMillis until) = 0;
  // Returns false when there was no mute.
  virtual bool delete_mute(UserId user, ConversationId conversation) = 0;

  // Sessions. Tokens are stored only as their hash.
  virtual Session insert_session(UserId user, std::string_view token_hash, std::string_view device_name,
                                 UnixMillis now) = 0;
  virtual std::optional<Session> session_by_token_hash(std::string_view token_hash) = 0;
  virtual std::vector<Session> sessions(UserId user) = 0;
  virtual void touch_session(SessionId id, UnixMillis now) = 0;
  // Returns false when the user has no such session.
  virtual bool delete_session(UserId user, SessionId id) = 0;
  // Deletes the user's sessions other than `keep`; returns their ids.
  virtual std::vector<SessionId> delete_other_sessions(UserId user, SessionId keep) = 0;
  // Deletes sessions last seen before `cutoff`; returns how many.
  virtual std::size_t delete_sessions_idle_since(UnixMillis cutoff) = 0;

  // Invitations.
  virtual Invitation insert_invitation(UserId from, UserId to, UnixMillis now) = 0;
  virtual std::optional<Invitation> invitation_by_id(InvitationId id) = 0;
  virtual std::optional<Invitation> invitation_between(UserId from, UserId to) = 0;
  virtual std::vector<Invitation> invitations_to(UserId user) = 0;
  virtual std::vector<Invitation> invitations_from(UserId user) = 0;
  virtual void delete_invitation(InvitationId id) = 0;

  // Contacts: a symmetric relation, stored for both sides.
  virtual bool are_contacts(UserId a, UserId b) = 0;
  virtual void insert_contact_pair(UserId a, UserId b, UnixMillis now) = 0;
  // Returns false when they were not contacts.
  virtual bool delete_contact_pair(UserId a, UserId b) = 0;
  virtual std::vector<Contact> contacts(UserId user) = 0;

  // Blocks: directed, `user` blocks `blocked`.
  virtual bool has_blocked(UserId user, UserId blocked) = 0;
  virtual void insert_block(UserId user, UserId blocked, UnixMillis now) = 0;
  virtual bool delete_block(UserId user, UserId blocked) = 0;
  virtual std::vector<Block> blocks(UserId user) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` on a read-only snapshot and returns its result.
  template <typename Fn>
  auto read(Fn&& fn) -> std::invoke_result_t<Fn, Transaction&> {
    return run<Fn>(std::forward<Fn>(fn), Mode::kRead);
  }

  // Runs `fn` in a write transaction, commits, and returns its result. If `fn`
  // throws, the transaction is rolled back and the exception propagates.
  template <typename Fn>
  auto write(Fn&& fn) -> std::invoke_result_t<Fn, Transaction&> {
    return run<Fn>(std::forward<Fn>(fn), Mode::kWrite);
  }

  // True when the database answers a trivial query (for /readyz).
  [[nodiscard]] virtual bool ping() = 0;

 protected:
  enum class Mode { kRead, kWrite };
  virtual void run_transaction(Mode mode, const std::function<void(Transaction&)>& body) = 0;

 private:
  template <typename Fn>
  auto run(Fn&& fn, Mode mode) -> std::invoke_result_t<Fn, Transaction&> {
    using Result = std::invoke_result_t<Fn, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      run_transaction(mode, [&](Transaction& tx) { fn(tx); });
    } else {
      std::optional<Result> result;
      run_transaction(mode, [&](Transaction& tx) { result.emplace(fn(tx)); });
      return std::move(*result);
    }
  }
};

}  // namespace parley::storage
