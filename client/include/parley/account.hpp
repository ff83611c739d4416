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
// opening a folder that another process has open fails with Errc::in_use
// (Account::open_read_only reads it meanwhile).
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

// Which certificates a TLS server (`https://`) may present. The server's
// certificate is always verified: its chain must end at a trusted CA and
// it must name the host of the URL (DNS name or IP address); SNI carries the
// host name. A failure is Errc::bad_certificate, never a plain-text retry.
struct TlsTrust {
  // The system's CA store (Debian: /etc/ssl/certs, package ca-certificates).
  bool system_store = true;
  // A PEM file of further CAs (a self-hoster's own CA), and/or the same as text.
  std::filesystem::path ca_file;
  std::string ca_pem;
};

struct AccountOptions {
  // The server, as `http://host[:port]` or `https://host[:port]` (REST,
  // WebSocket and media then all go over TLS, verified as `tls` says).
  std::string server_url;
  TlsTrust tls;
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
                      const std::string& password, const std::string& display_name, Callback<User> done,
                      const TlsTrust& tls = {});

class Account {
 public:
  // Opens (creating if needed) the account's folder and store and, when a
  // session is stored, connects. Fails only on local problems (Errc::storage,
  // Errc::invalid_argument). Cheap enough for a UI thread: it opens a file.
  // A folder open elsewhere (this process or another) fails with
  // Errc::in_use, naming the process that has it.
  static Result<std::unique_ptr<Account>> open(Runtime& runtime, AccountOptions options);
  // Opens the store for reading only, also while another process has the
  // account open (e.g. `parley history` beside the interactive client):
  // SQLite's WAL lets a reader see the writer's last commit. It never
  // connects: store reads work, calls that write or need the server fail
  // (Errc::storage, Errc::not_signed_in); the media cache is not offered.
  static Result<std::unique_ptr<Account>> open_read_only(Runtime& runtime, AccountOptions options);
  [[nodiscard]] bool read_only() const;
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
  // caption like send_text; `done` gets the message's client id once it is
  // in the outbox. The upload is recorded in the store first: after a
  // restart of the app the engine continues it by itself once online (from
  // the offset the server confirms; from zero if the file's size or mtime
  // changed), and sends the message once. A refusal (too large, not found)
  // drops the record; a network failure keeps it for the next connection.
  void send_file(ConversationId conversation, const std::filesystem::path& file, const std::string& caption,
                 std::function<void(Progress)> progress, Callback<std::string> done);
  // The files being sent, also those an earlier run left (store read).
  [[nodiscard]] std::vector<PendingUpload> pending_uploads() const;
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

  // Unmutes a conversation (mute with 0).
  void unmute(ConversationId conversation, Callback<Done> done) { mute(conversation, 0, std::move(done)); }
  // The settings as on the server (also stored: notifications and mutes).
  void settings(Callback<Settings> done);
  void set_last_seen_visibility(LastSeenVisibility visibility, Callback<Done> done);

  // --- Profile --------------------------------------------------------------
  // Changes what is set (unset: unchanged); answers the updated user, also
  // stored (me()).
  void update_profile(std::optional<std::string> display_name, std::optional<std::string> status_text,
                      Callback<User> done);
  // Uploads the image and makes it the avatar; remove_avatar clears it.
  void set_avatar(const std::filesystem::path& image, Callback<User> done);
  void remove_avatar(Callback<User> done);
  // Another user's public profile.
  void lookup_user(const std::string& username, Callback<User> done);
  void change_password(const std::string& current_password, const std::string& new_password, Callback<Done> done);

  // --- Sessions (devices) -------------------------------------------------------
  void sessions(Callback<std::vector<SessionInfo>> done);
  // Ends another device's session (that device is signed out).
  void revoke_session(std::int64_t session_id, Callback<Done> done);
  // Ends every session but this one; answers how many.
  void revoke_other_sessions(Callback<int> done);

  // --- Two-factor login (TOTP) -----------------------------------------------------
  void two_factor_status(Callback<TwoFactorStatus> done);
  // Begins enrolment: the secret for an authenticator app.
  void begin_two_factor(const std::string& password, Callback<TwoFactorEnrolment> done);
  // Confirms with a code from the app: two-factor login is on. Answers the
  // ten one-time recovery codes (shown only now).
  void confirm_two_factor(const std::string& code, Callback<std::vector<std::string>> done);
  void disable_two_factor(const std::string& password, const std::string& code, Callback<Done> done);

  // --- Stickers -----------------------------------------------------------------------
  // The server's catalogue (installed = false) or this user's packs.
  void sticker_packs(bool installed, Callback<std::vector<StickerPack>> done);
  // One pack with its stickers.
  void sticker_pack(const std::string& name, Callback<StickerPack> done);
  void add_sticker_pack(const std::string& name, Callback<Done> done);
  void remove_sticker_pack(const std::string& name, Callback<Done> done);
  // Queues a sticker message like send_text (outbox, sent in order).
  Result<std::string> send_sticker(ConversationId conversation, std::int64_t sticker_id);
  // A sticker's image (PNG or WebP, as the pack has it), downloaded into the
  // media cache like download() (same size limit and eviction) or found
  // there; the path stays valid until the cache evicts it. An unknown
  // sticker answers Errc::not_found, an id <= 0 Errc::invalid_argument.
  void sticker_image(std::int64_t sticker_id, Callback<std::filesystem::path> done);
  // The cached image, if present (no network). Marks it recently used.
  [[nodiscard]] std::optional<std::filesystem::path> cached_sticker_image(std::int64_t sticker_id) const;

  // --- The account itself -------------------------------------------------------------
  // Deletes the account on the server (password, and the two-factor code
  // when it is on), then forgets the session and erases this device's data.
  void delete_account(const std::string& password, const std::string& two_factor_code, Callback<Done> done);
  // Personal data export: ask for one, see how it goes, download the
  // archive (a zip) when `ready`.
  void request_export(Callback<DataExport> done);
  void export_status(Callback<DataExport> done);
  void download_export(const std::string& export_id, const std::filesystem::path& to,
                       std::function<void(Progress)> progress, Callback<Done> done);

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
