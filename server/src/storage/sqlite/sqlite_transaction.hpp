// storage::Transaction on one SQLite connection. Internal to the backend.
#pragma once

#include "storage/store.hpp"

namespace parley::storage::sqlite {

class Connection;

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(Connection& db) : db_(db) {}

  std::optional<User> insert_user(const NewUser& user) override;
  std::optional<User> user_by_id(UserId id) override;
  std::optional<User> user_by_username(std::string_view username) override;
  std::optional<std::string> password_hash(UserId id) override;
  void set_password_hash(UserId id, std::string_view hash) override;
  void update_user(UserId id, const ProfilePatch& patch) override;

  std::vector<ConversationMute> mutes(UserId user) override;
  void set_mute(UserId user, ConversationId conversation, UnixMillis until) override;
  bool delete_mute(UserId user, ConversationId conversation) override;

  Session insert_session(UserId user, std::string_view token_hash, std::string_view device_name,
                         UnixMillis now) override;
  std::optional<Session> session_by_token_hash(std::string_view token_hash) override;
  std::vector<Session> sessions(UserId user) override;
  void touch_session(SessionId id, UnixMillis now) override;
  bool delete_session(UserId user, SessionId id) override;
  std::vector<SessionId> delete_other_sessions(UserId user, SessionId keep) override;
  std::size_t delete_sessions_idle_since(UnixMillis cutoff) override;

  Invitation insert_invitation(UserId from, UserId to, UnixMillis now) override;
  std::optional<Invitation> invitation_by_id(InvitationId id) override;
  std::optional<Invitation> invitation_between(UserId from, UserId to) override;
  std::vector<Invitation> invitations_to(UserId user) override;
  std::vector<Invitation> invitations_from(UserId user) override;
  void delete_invitation(InvitationId id) override;

  bool are_contacts(UserId a, UserId b) override;
  void insert_contact_pair(UserId a, UserId b, UnixMillis now) override;
  bool delete_contact_pair(UserId a, UserId b) override;
  std::vector<Contact> contacts(UserId user) override;

  bool has_blocked(UserId user, UserId blocked) override;
  void insert_block(UserId user, UserId blocked, UnixMillis now) override;
  bool delete_block(UserId user, UserId blocked) override;
  std::vector<Block> blocks(UserId user) override;

 private:
  Connection& db_;
};

}  // namespace parley::storage::sqlite
