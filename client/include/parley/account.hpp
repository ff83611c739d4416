// libparley: the Parley client engine. One Runtime per process, one Account
// per signed-in user (any number, each with its own device store).
//
// THREADING, in one paragraph. A Runtime owns one engine thread that does
// all network I/O and every write to the device stores of the accounts it
// serves. Every Account method may be called from any thread, concurrently.
// None of them waits for the network: calls that need the server return at
// once and report through their callback. Reads of the device store
// (conversations(), history(), ...) run on the caller's thread against a
// read-only connection of their own, take milliseconds and never wait for
// the engine thread (SQLite WAL: readers never block the writer, nor it them),
// so a UI thread may call them while rendering. Callbacks and Listener
// events are delivered through AccountOptions::deliver when set (post them to
// your UI loop there), otherwise on the engine thread, where they must not
// block. For one account, callbacks and events arrive in the order they
// happened, one at a time.
//
// OWNERSHIP. The app owns the Runtime and its Accounts (unique_ptr). Destroy
// every Account before its Runtime. Destroying an Account cancels what is in
// flight (callbacks of cancelled calls are not called after the destructor
// returns), closes its connection and its store; the outbox stays on disk
// and is sent at the next open. Listener and Notifier are shared_ptr: the
// engine keeps them alive as long as it may call them. Values handed out
// (types.hpp) are copies that the caller owns.
//
// STORAGE. AccountOptions::data_dir holds everything of one account:
// `store.db` (SQLite: conversations, members, messages, reactions, receipts,
// contacts, invitations, settings, outbox, sync position, session token),
// and `media/` (the download cache). Two Accounts must not share a folder;
// opening a folder that another process has open fails with Errc::storage.
//
// See docs/client.md for the architecture and examples.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/error.hpp"
#include "parley/types.hpp"

namespace parley {

// Receives what the engine applied to the store and what is not stored
// (typing, presence). Every method has an empty default.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void on_connection_state(ConnectionState /*state*/) {}
  // One call per applied batch of events (or local change: a queued send,
  // its ack, a fetched page). Read the store again for what changed.
  virtual void on_changes(const Changes& /*changes*/) {}
  virtual void on_typing(ConversationId /*conversation*/, UserId /*user*/, Millis /*expires_in_ms*/) {}
  virtual void on_presence(UserId /*user*/, bool /*online*/, std::optional<Millis> /*last_seen_at*/) {}
  // Something went wrong that no callback reports: the server sent a frame
  // the engine could not use (it was skipped, nothing else lost), the store
  // failed, the session was revoked (state becomes signed_out).
  virtual void on_error(const Error& /*error*/) {}
};

// The push message handler hook. The engine calls notify() once for each
// incoming message that should notify: sent by someone else, live (not
// history loaded over REST, not a catch-up older than `catch_up_window`),
// not deleted, the user's notifications enabled and the conversation not
// muted. A desktop notifier shows it (libnotify in the parley app) and may
// answer with Account::quick_reply. Called like Listener events.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void notify(const Notification& notification) = 0;
  // The message was read on some device (this one or another): withdraw
  // the notifications of `conversation` up to `seq`.
  virtual void withdraw(ConversationId /*conversation*/, std::int64_t /*seq*/) {}
};

class Runtime {
 public:
  Runtime();  // starts the engine thread
  ~Runtime();  // stops it; destroy every Account first
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct AccountOptions {
  // The server, as `http://host:port` (plain HTTP and WebSocket) or
  // `https://host[:port]` (TLS, certificate checked against the system store).
  std::string server_url;
  // The account's folder (created if missing). Required.
  std::filesystem::path data_dir;
  // Names this device in the user's session list.
  std::string device_name = "libparley";
  // Upper bound of store.db. When it is exceeded the oldest messages of the
  // history (never pending ones, never the newest page of a conversation)
  // are evicted, and fetched again by load_older when the app pages back.
  // 256 MiB keeps years of text on a phone-sized budget.
  std::int64_t store_limit_bytes = 256LL << 20;
  // Upper bound of the media cache; least recently used files go first.
  std::int64_t media_cache_limit_bytes = 512LL << 20;
  // When set, message texts are stored encrypted with this key
  // (XChaCha20-Poly1305, libsodium; see docs/client.md for why not SQLCipher).
  // The app keeps the key (a keyring); without it the store cannot be read.
  std::optional<std::array<std::uint8_t, 32>> encryption_key;
  // How callbacks and events reach the app: called (from the engine thread)
  // with a task to run; the app runs it on its own thread. Unset: tasks run
  // on the engine thread directly.
  std::function<void(std::function<void()>)> deliver;
  // Messages older than this at catch-up are stored without notifying.
  Millis catch_up_window_ms = 24LL * 3600 * 1000;
  // Reconnect backoff: the delay doubles from min to max, with full jitter.
  Millis reconnect_min_ms = 250;
  Millis reconnect_max_ms = 30000;
};

// Options with the two required fields set and every other at its default.
inline AccountOptions options_for(std::string server_url, std::filesystem::path data_dir) {
  AccountOptions options;
  options.server_url = std::move(server_url);
  options.data_dir = std::move(data_dir);
  return options;
}

template <typename T>
using Callback = std::function<void(Result<T>)>;

class Account;

// Creates an account on the server (does not sign in). Completes on the
// engine thread (there is no account yet to deliver through).
void register_account(Runtime& runtime, const std::string& server_url, const std::string& username,
                      const std::string& password, const std::string& display_name, Callback<User> done);

class Account {
 public:
  // Opens (creating if needed) the account's folder and store and, when a
  // session is stored, connects. Fails only on local problems (Errc::storage,
  // Errc::invalid_argument). Cheap enough for a UI thread: it opens a file.
  static Result<std::unique_ptr<Account>> open(Runtime& runtime, AccountOptions options);
  ~Account();
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  void set_listener(std::shared_ptr<Listener> listener);
  void set_notifier(std::shared_ptr<Notifier> notifier);

  // --- Session ----------------------------------------------------------
  // Signs in and starts syncing. With two-factor login enabled, the first
  // call fails with Errc::two_factor_required; call again with the code.
  void sign_in(const std::string& username, const std::string& password, Callback<User> done,
               const std::string& two_factor_code = "");
  // Ends the session on the server (best effort) and forgets it locally.
  // keep_data = false also erases the store and the media cache.
  void sign_out(bool keep_data, Callback<Done> done);
  [[nodiscard]] ConnectionState state() const;
  // The signed-in user, from the store (also offline).
  [[nodiscard]] std::optional<User> me() const;
  // Connects now instead of waiting out the backoff (e.g. the network came back).
  void reconnect_now();

  // --- Reading the store (caller's thread, no network) -------------------
  // Every conversation, the most recent activity first.
  [[nodiscard]] std::vector<Conversation> conversations() const;
  [[nodiscard]] std::optional<Conversation> conversation(ConversationId id) const;
  [[nodiscard]] std::vector<Member> members(ConversationId id) const;
  // Up to `limit` messages below `before_seq` (0: the newest), ascending,
  // with this device's pending messages after the newest page.
  [[nodiscard]] HistoryPage history(ConversationId id, std::int64_t before_seq = 0, int limit = 50) const;
  [[nodiscard]] std::optional<Message> message(MessageId id) const;
  [[nodiscard]] std::vector<Contact> contacts() const;
  [[nodiscard]] std::vector<Invitation> invitations() const;
  // Full-text search of the messages on this device (FTS5: words, prefixes
  // with `*`, phrases in quotes), the newest first.
  [[nodiscard]] std::vector<SearchHit> search_local(const std::string& query, int limit = 50,
                                                    std::optional<ConversationId> in = std::nullopt) const;
  // The sync position (the last event applied), for diagnostics.
  [[nodiscard]] std::int64_t position() const;

  // --- Messages -----------------------------------------------------------
  // Stores the message in the outbox (durably, before returning) and sends
  // it when connected. Returns its client id; it shows in history() as
  // pending at once. Errc::invalid_argument for text the server would refuse.
  Result<std::string> send_text(ConversationId conversation, const std::string& text,
                                std::optional<MessageId> reply_to = std::nullopt);
  // Uploads the file (resumable, with progress), then sends it with the
  // caption like send_text. The upload itself is not kept across restarts.
  void send_file(ConversationId conversation, const std::filesystem::path& file, const std::string& caption,
                 std::function<void(Progress)> progress, Callback<std::string> done);
  // Sends like send_text, replying to `message`: the answer of a Notifier.
  Result<std::string> quick_reply(ConversationId conversation, MessageId message, const std::string& text);
  void edit(MessageId message, const std::string& text, Callback<Done> done);
  void delete_message(MessageId message, Callback<Done> done);
  void react(MessageId message, const std::string& emoji, bool remove, Callback<Done> done);
  // Moves this user's read mark (never backwards). The engine sends it when
  // connected; no callback, the store changes when the server confirms.
  void mark_read(ConversationId conversation, std::int64_t seq);
  // Call every 2-5 s while the user types; dropped when offline.
  void typing(ConversationId conversation);
  // Fetches the page below `before_seq` from the server into the store
  // (history that was never on this device, or was evicted).
  void load_older(ConversationId conversation, std::int64_t before_seq, Callback<HistoryPage> done);

  // --- Contacts and invitations -------------------------------------------
  void invite(const std::string& username, Callback<Done> done);
  void accept(InvitationId invitation, Callback<Done> done);
  void decline(InvitationId invitation, Callback<Done> done);
  void cancel_invitation(InvitationId invitation, Callback<Done> done);
  void remove_contact(const std::string& username, Callback<Done> done);
  void block(const std::string& username, Callback<Done> done);
  void unblock(const std::string& username, Callback<Done> done);
  // The direct conversation with a contact (created if needed).
  void open_direct(const std::string& username, Callback<ConversationId> done);

  // --- Groups -----------------------------------------------------------------
  void create_group(const std::string& name, const std::vector<std::string>& usernames,
                    Callback<ConversationId> done);
  void rename_group(ConversationId group, const std::string& name, const std::string& topic, Callback<Done> done);
  void add_member(ConversationId group, const std::string& username, Callback<Done> done);
  void remove_member(ConversationId group, UserId user, Callback<Done> done);
  void set_role(ConversationId group, UserId user, Role role, Callback<Done> done);
  void leave(ConversationId group, Callback<Done> done);

  // --- Settings ---------------------------------------------------------------
  // Mutes notifications of a conversation until `until` (0 unmutes).
  void mute(ConversationId conversation, Millis until, Callback<Done> done);
  void set_notifications_enabled(bool enabled, Callback<Done> done);
  [[nodiscard]] bool notifications_enabled() const;

  // --- Search on the server -------------------------------------------------
  void search_server(const std::string& query, std::optional<ConversationId> in, Callback<std::vector<SearchHit>> done);

  // --- Media --------------------------------------------------------------
  enum class Variant { original, thumbnail_small, thumbnail_large };
  // The cached file, if present (no network). Marks it recently used.
  [[nodiscard]] std::optional<std::filesystem::path> cached_media(const MediaId& media, Variant variant) const;
  // Downloads to the cache (or finds it there) and gives its path. The path
  // stays valid until the cache evicts it: copy the file to keep it.
  void download(const MediaId& media, Variant variant, std::function<void(Progress)> progress,
                Callback<std::filesystem::path> done);
  [[nodiscard]] std::int64_t media_cache_bytes() const;

  // --- Diagnostics ------------------------------------------------------------
  // The store's content in a canonical text form (sorted, without local-only
  // columns): two devices that applied the same events give the same bytes.
  [[nodiscard]] std::string canonical_dump() const;

  struct Impl;

 private:
  explicit Account(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley
