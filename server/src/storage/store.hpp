// The storage interface. Handlers and services talk to this, never to a
// database: SQLite is the embedded backend, and a PostgreSQL backend
// implements the same interface for clustered deployments.
//
// Work happens in transactions. Store::read runs a function against a
// consistent snapshot on the calling thread. Writes are queued to the
// backend's writer, which runs many of them in one transaction and one
// commit (group commit): each write's function runs atomically (if it throws,
// nothing it did is kept and the exception reaches its caller), and no write
// completes before the commit that holds it is durable. Functions passed in
// must not block on anything but the transaction itself, and must not start
// another transaction.
//
// Events emitted in a write (Transaction::emit) are handed to the EventSink
// after their commit, in position order, after that batch's writes have
// completed.
//
// Thread safety: Store is safe to use from any thread. A Transaction belongs
// to the thread that runs the function and must not escape it.
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "storage/records.hpp"
#include "storage/search.hpp"

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

  // Account deletion (docs/security.md "Account deletion"; migration 0009).
  // Removes everything personal of `user` but the users row the messages
  // they sent refer to: sessions, two-factor, mutes, contacts, invitations,
  // blocks (both directions), sticker sets, and their media that no message
  // carries and no group shows as its avatar (uploads in progress are left
  // to the upload sweeper, which deletes row and file at their expiry). The row becomes `placeholder_username`,
  // display name "Deleted user", status, avatar and password cleared,
  // deleted_at = now. Memberships are not touched: the caller ends them
  // first (as leaves, with their events). Returns the ended sessions.
  virtual std::vector<SessionId> purge_account(UserId user, std::string_view placeholder_username,
                                               UnixMillis now) = 0;
  // Reserves a username (by its SHA-256, `username_hash`) until `until`.
  virtual void reserve_username(std::string_view username_hash, UnixMillis until) = 0;
  // Whether the name is reserved at `now` (expired reservations are ignored).
  virtual bool username_reserved(std::string_view username_hash, UnixMillis now) = 0;

  // Two-factor login. An account has at most one authenticator.
  virtual std::optional<TwoFactor> two_factor(UserId user) = 0;
  // Replaces any pending enrolment with a new one holding `secret`. Must not
  // be called while two-factor login is enabled.
  virtual void begin_two_factor(UserId user, std::string_view secret, UnixMillis now) = 0;
  // Enables the pending enrolment, marks `step` used and replaces the
  // recovery codes with `recovery_code_hashes`. Returns false (changing
  // nothing) if no enrolment is pending.
  virtual bool enable_two_factor(UserId user, std::int64_t step, const std::vector<std::string>& recovery_code_hashes,
                                 UnixMillis now) = 0;
  // Marks `step` used if it is later than the last used step; returns false
  // (a replay) otherwise.
  virtual bool use_two_factor_step(UserId user, std::int64_t step) = 0;
  // Spends an unused recovery code; returns false if there is none with this
  // hash.
  virtual bool use_recovery_code(UserId user, std::string_view code_hash, UnixMillis now) = 0;
  virtual int unused_recovery_codes(UserId user) = 0;
  // Removes the authenticator and the recovery codes.
  virtual void delete_two_factor(UserId user) = 0;

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
  // Deletes sessions last seen before `cutoff`; returns their ids.
  virtual std::vector<SessionId> delete_sessions_idle_since(UnixMillis cutoff) = 0;

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

  // Blocks: directed, `user` blocks `blocked`. Every rule about blocks
  // (messages, invitations, direct conversations, presence) applies to a
  // block in either direction: this asks whether there is one.
  virtual bool block_between(UserId a, UserId b) = 0;
  // Returns false when the block existed already.
  virtual bool insert_block(UserId user, UserId blocked, UnixMillis now) = 0;
  virtual bool delete_block(UserId user, UserId blocked) = 0;
  virtual std::vector<Block> blocks(UserId user) = 0;

  // Presence: when the user was last connected.
  virtual void set_last_online(UserId user, UnixMillis when) = 0;

  // Conversations. A direct conversation has a `direct_key` naming its two
  // users ("low:high"), which makes it unique per pair.
  virtual Conversation insert_conversation(ConversationKind kind, std::string_view name, std::string_view topic,
                                           const std::optional<std::string>& direct_key, UserId creator,
                                           UnixMillis now) = 0;
  virtual std::optional<Conversation> conversation_by_id(ConversationId id) = 0;
  virtual std::optional<Conversation> conversation_by_direct_key(std::string_view direct_key) = 0;
  virtual void update_conversation(ConversationId id, const std::optional<std::string>& name,
                                   const std::optional<std::string>& topic) = 0;
  // The user's conversations, most recently active first.
  virtual std::vector<ConversationSummary> conversations_of(UserId user) = 0;

  // Members.
  virtual std::optional<Member> member(ConversationId conversation, UserId user) = 0;
  // Ordered by join time.
  virtual std::vector<Member> members(ConversationId conversation) = 0;
  virtual std::vector<UserId> member_ids(ConversationId conversation) = 0;
  virtual void insert_member(const Member& member) = 0;
  virtual bool delete_member(ConversationId conversation, UserId user) = 0;
  virtual void set_role(ConversationId conversation, UserId user, Role role) = 0;
  // Raise the member's read or delivered mark to `seq`; false when it was
  // already there or beyond (marks never move back).
  virtual bool advance_read(ConversationId conversation, UserId user, Seq seq) = 0;
  virtual bool advance_delivered(ConversationId conversation, UserId user, Seq seq) = 0;

  // Messages.
  // Stores a message under the conversation's next seq, at position `pos`.
  virtual Message insert_message(const NewMessage& message, Position pos) = 0;
  // Idempotent sends: stores the message as insert_message() does unless
  // its sender already stored one with the same client_id; then it stores
  // nothing and returns nullopt (the caller looks that one up with
  // message_by_client_id()). A backend answers it from its unique index on
  // (sender_id, client_id) in the same statement as the insert
  // (INSERT ... ON CONFLICT DO NOTHING), so that a new message, the common
  // case, costs no lookup first. The default here is the lookup then the
  // insert, correct on a single writer.
  virtual std::optional<Message> insert_message_if_new(const NewMessage& message, Position pos) {
    if (message_by_client_id(message.sender_id, message.client_id)) return std::nullopt;
    return insert_message(message, pos);
  }
  virtual std::optional<Message> message_by_id(MessageId id) = 0;
  virtual std::optional<Message> message_by_client_id(UserId sender, std::string_view client_id) = 0;
  virtual void edit_message(MessageId id, std::string_view body, const std::vector<UserId>& mentions,
                            UnixMillis now) = 0;
  // Edits keep what the message was before only where a member whose
  // membership ended still needs it (stream_since).
  // Replaces the message with a tombstone and deletes every stored copy of
  // its content: body, edit time, mentions, reactions, earlier versions and
  // the stored events that carry any of them (Event::content_of).
  virtual void delete_message(MessageId id, UnixMillis now) = 0;
  virtual bool add_reaction(MessageId id, UserId user, std::string_view emoji, UnixMillis now) = 0;
  virtual bool remove_reaction(MessageId id, UserId user, std::string_view emoji) = 0;
  // Up to `limit` messages with seq < before (the newest of them), or with
  // seq > after (the oldest of them); both in ascending seq order.
  virtual std::vector<Message> messages_before(ConversationId conversation, Seq before, std::size_t limit) = 0;
  virtual std::vector<Message> messages_after(ConversationId conversation, Seq after, std::size_t limit) = 0;

  // Media (docs/architecture.md "Media"). Blobs are counted, not owned:
  // media_blobs.refcount follows the media and thumbnail rows that name a
  // digest, and a blob whose count reached 0 is deleted by the blob sweeper.
  virtual void insert_media(const Media& media) = 0;
  virtual std::optional<Media> media_by_id(std::string_view id) = 0;
  // Deletes the row (and its thumbnails); its blobs lose a reference. Returns
  // false when there was no such row. Throws if a message still carries it.
  virtual bool delete_media(std::string_view id) = 0;
  // Bytes the user holds: the sizes of their media plus the announced sizes
  // of their uploads in progress (an upload reserves its size when created).
  virtual std::int64_t media_usage(UserId user) = 0;
  // The number of messages that carry the media.
  virtual std::int64_t media_references(std::string_view id) = 0;

  virtual std::optional<MediaThumbnail> media_thumbnail(std::string_view media_id, int size) = 0;
  // Returns false (changing nothing) when that thumbnail exists already.
  virtual bool insert_media_thumbnail(const MediaThumbnail& thumbnail) = 0;

  // Records a blob about to be stored (refcount 0) unless it is known. Done
  // before its file is moved into the blob store: should the process die
  // before a row refers to it, the blob sweeper finds it and deletes the
  // file, so no blob file is ever left that the database does not know.
  virtual void note_blob(std::string_view sha256, std::int64_t size, UnixMillis now) = 0;
  // Blobs no row names any more, at most `limit`, for the blob sweeper.
  virtual std::vector<std::string> unreferenced_blobs(std::size_t limit) = 0;
  // Forgets an unreferenced blob; false (changing nothing) when it is
  // referenced again or unknown.
  virtual bool delete_unreferenced_blob(std::string_view sha256) = 0;
  // Whether a row names the blob (refcount > 0).
  virtual bool blob_referenced(std::string_view sha256) = 0;

  // Resumable uploads.
  virtual void insert_upload(const MediaUpload& upload) = 0;
  virtual std::optional<MediaUpload> upload_by_id(std::string_view id) = 0;
  // Records that `received` bytes are durable and pushes the expiry to
  // `expires_at`. Returns false unless the stored offset was `from` (another
  // request appended meanwhile, or the upload is gone).
  virtual bool advance_upload(std::string_view id, std::int64_t from, std::int64_t received,
                              UnixMillis expires_at) = 0;
  // Returns false when there was no such upload.
  virtual bool delete_upload(std::string_view id) = 0;
  // The user's uploads in progress.
  virtual std::int64_t open_uploads(UserId user) = 0;
  // Uploads whose expiry is before `now`, at most `limit`.
  virtual std::vector<MediaUpload> expired_uploads(UnixMillis now, std::size_t limit) = 0;
  // Every upload id (at start-up: files in the upload folder without a row
  // are left-overs of a crash).
  virtual std::vector<UploadId> upload_ids() = 0;

  // Using media (docs/security.md "Media"; migration 0006).
  // Whether `user` may read the media `id` through something other than
  // owning it: an attachment of a message in a conversation they are a
  // member of, or were a member of when it was posted (past_memberships),
  // a user's avatar (profiles are visible to signed-in users), or the avatar
  // of a group they are in. One statement over indexes.
  virtual bool media_shared_with(std::string_view id, UserId user) = 0;
  // A group's avatar (nullopt clears it).
  virtual void set_conversation_avatar(ConversationId id, const std::optional<std::string>& media_id) = 0;
  // Media that nothing has referred to since before `before`, oldest first,
  // at most `limit` (migration 0006, media_orphans).
  virtual std::vector<MediaId> orphaned_media(UnixMillis before, std::size_t limit) = 0;
  // Deletes the media row (its thumbnails, its orphan entry; its blob loses a
  // reference) if it is still an orphan from before `before` and nothing
  // refers to it; false, changing nothing, otherwise.
  virtual bool delete_orphaned_media(std::string_view id, UnixMillis before) = 0;

  // Sticker packs (docs/architecture.md "Sticker packs"). A sticker's image
  // is a blob counted in media_blobs like a media row's.
  // The pack named `name`, installed or removed.
  virtual std::optional<StickerPackRow> sticker_pack_by_name(std::string_view name) = 0;
  // Installs the pack `name` with `stickers` (in order), whose blobs are
  // stored already. An existing pack of that name (even a removed one) is
  // updated in place: installed again, its title replaced, and its previous
  // stickers replaced by these (those no message carries are deleted, the
  // others become unavailable). Users' sets keep it.
  virtual StickerPackRow install_sticker_pack(std::string_view name, std::string_view title,
                                              const std::vector<NewSticker>& stickers, UnixMillis now) = 0;
  // Marks the installed pack removed and takes it out of every user's set.
  // Returns false when no installed pack has this name.
  virtual bool remove_sticker_pack(std::string_view name, UnixMillis now) = 0;
  // Installed packs, oldest first.
  virtual std::vector<StickerPackSummary> sticker_packs() = 0;
  // The available stickers of a pack, in order.
  virtual std::vector<Sticker> stickers_of(StickerPackId pack) = 0;
  // Any sticker ever stored (available or not), or nullopt.
  virtual std::optional<Sticker> sticker_by_id(StickerId id) = 0;
  // The installed packs in the user's set, in the order they were added.
  virtual std::vector<StickerPackSummary> user_sticker_packs(UserId user) = 0;
  // Adds the pack to the end of the user's set; false when it was there.
  virtual bool add_user_sticker_pack(UserId user, StickerPackId pack, UnixMillis now) = 0;
  // Returns false when the pack was not in the set.
  virtual bool remove_user_sticker_pack(UserId user, StickerPackId pack) = 0;
  virtual bool user_has_sticker_pack(UserId user, StickerPackId pack) = 0;

  // Full-text search (docs/architecture.md "Search"): the messages matching
  // `query` that query.viewer may read, best first (relevance, then
  // recency). A backend without search throws ApiError validation_failed.
  virtual SearchPage search_messages(const SearchQuery& query) = 0;

  // Personal data exports (docs/security.md "Personal data export";
  // migration 0010).
  virtual void insert_export(const DataExport& data_export) = 0;
  virtual std::optional<DataExport> export_by_id(std::string_view id) = 0;
  // The user's newest export, or nullopt.
  virtual std::optional<DataExport> latest_export(UserId user) = 0;
  // When the user's newest export that was not a failure was asked for (the
  // rate limit counts those).
  virtual std::optional<UnixMillis> last_counted_export(UserId user) = 0;
  // pending -> running; false (changing nothing) in any other state or when
  // the export is gone (its account was deleted meanwhile).
  virtual bool start_export(std::string_view id) = 0;
  // running -> ready with the archive's size and digest; false as above.
  virtual bool finish_export(std::string_view id, std::int64_t size, std::string_view sha256, UnixMillis now,
                             UnixMillis expires_at) = 0;
  // pending or running -> failed; false as above.
  virtual bool fail_export(std::string_view id, std::string_view error, UnixMillis now) = 0;
  // Every pending or running export becomes failed with `error` (at
  // start-up: the process that ran them is gone). Returns their ids.
  virtual std::vector<ExportId> fail_unfinished_exports(std::string_view error, UnixMillis now) = 0;
  // Ready exports whose expires_at is at or before `now` become expired, at
  // most `limit`; returns their ids (their archives are the caller's to delete).
  virtual std::vector<ExportId> expire_exports(UnixMillis now, std::size_t limit) = 0;
  // The ids of ready exports (at start-up: any other archive file is a left-over).
  virtual std::vector<ExportId> ready_exports() = 0;
  // Deletes every export row of the user; returns their ids.
  virtual std::vector<ExportId> delete_exports(UserId user) = 0;
  // Conversations the user left or was removed from and is not a member of
  // now, with those memberships; by conversation id.
  virtual std::vector<PastConversation> past_conversations(UserId user) = 0;
  // The messages of `conversation` after seq `after` that `reader` may read,
  // as they may read them, at most `limit` looked at, in seq order: as the
  // history shows them to a member (every message), or, through memberships
  // that ended, those posted during one, each as it was at that end
  // (load_details_as_of; one whose content then is unknown is left out).
  // Deleted messages are left out (a tombstone holds nothing of the user's).
  virtual ReadablePage readable_messages(UserId reader, ConversationId conversation, Seq after,
                                         std::size_t limit) = 0;

  // Web Push subscriptions (migration 0011; server/src/push/). Inserts the
  // subscription, replacing one with the same endpoint (a browser that
  // registers again after a new login); returns the stored row.
  virtual PushSubscription upsert_push_subscription(const PushSubscription& subscription) = 0;
  // The user's subscriptions, by id.
  virtual std::vector<PushSubscription> push_subscriptions(UserId user) = 0;
  // Returns false when no subscription of `user` has that id.
  virtual bool delete_push_subscription(UserId user, PushSubscriptionId id) = 0;
  // For the push service, which learnt from the push service that the
  // endpoint is gone (404/410); false when it was already deleted.
  virtual bool delete_push_subscription_by_id(PushSubscriptionId id) = 0;

  // The event stream (docs/protocol.md, "Positions").
  // Takes the next position. Positions grow in commit order; a write that
  // fails leaves a gap, which is harmless (only seqs are gapless).
  virtual Position next_position() = 0;
  // The newest position assigned by a committed write.
  virtual Position current_position() = 0;
  // Queues `event` for live delivery after commit and, when `store` is
  // kStore, keeps it for devices that resume later. Message events are not
  // stored here: the messages table holds them.
  enum class Keep { kStore, kMessagesTable };
  virtual void emit(Event event, Keep keep) = 0;
  // What `user` is entitled to see after position `after`, in position
  // order, at most `limit` items: their own events, events of their
  // conversations after they joined, and those conversations' messages.
  // Through a membership that ended, only what came before its end, and
  // each message as it was at that end (a deleted one as its tombstone).
  struct StreamItem {
    Position pos = 0;
    std::shared_ptr<const std::string> payload;  // set for stored events
    std::optional<Message> message;              // set for messages
  };
  virtual std::vector<StreamItem> stream_since(UserId user, Position after, std::size_t limit) = 0;
  // Every event with after < pos <= upto, in position order, as it was
  // delivered live: stored events with their payload, messages (as they
  // are now), each with its recipients (the members of its conversation at
  // its position and the user it is addressed to). What a node reads for a
  // batch it missed (cluster/cluster_node.hpp): one read for every user.
  // Only backends that run in a cluster implement it.
  virtual std::vector<Event> events_between(Position after, Position upto) {
    (void)after;
    (void)upto;
    throw std::logic_error("events_between: this storage backend cannot run in a cluster");
  }
};

// Receives each committed batch's events, on the writer's thread, in
// position order. It must not block: it hands the events on (the writer
// commits nothing else meanwhile).
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The committed batch's events, before any of its writes is answered and
  // before publish(): for state that must be current by the time a caller
  // hears that its write is done (who may see whom: a device that connects
  // right after a membership change's answer must be judged by the new
  // membership). Quick and non-blocking, like publish(). By default nothing.
  virtual void committed(const std::vector<Event>& events) { (void)events; }
  virtual void publish(std::vector<Event> events) = 0;
  // The committed batch's positions, after < pos <= upto, with its events:
  // fewer than the positions, or none, when a write took a position and
  // stored nothing there. A backend whose positions several nodes share
  // calls this instead of publish(), so that the other nodes learn such a
  // position is empty instead of waiting for its event (docs/architecture.md
  // "Several nodes: delivery order"). By default, publish() when there are
  // events.
  virtual void publish_range(Position after, Position upto, std::vector<Event> events) {
    (void)after;
    (void)upto;
    if (!events.empty()) publish(std::move(events));
  }
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` on a read-only snapshot and returns its result.
  template <typename Fn>
  auto read(Fn&& fn) -> std::invoke_result_t<Fn, Transaction&> {
    return run<Fn>(std::forward<Fn>(fn));
  }

  // Runs `fn` in the writer's next transaction and resumes the caller, on
  // its own executor, once that transaction is committed. Returns fn's
  // result, or rethrows what fn threw (then nothing fn did is kept).
  template <typename Fn>
  auto write(Fn fn) -> boost::asio::awaitable<std::invoke_result_t<Fn, Transaction&>> {
    using Result = std::invoke_result_t<Fn, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      co_await await_write([&](Transaction& tx) { fn(tx); });
    } else {
      std::optional<Result> result;
      co_await await_write([&](Transaction& tx) { result.emplace(fn(tx)); });
      co_return std::move(*result);
    }
  }

  // The same, blocking the calling thread until the commit. Never call it on
  // an I/O thread; for start-up, maintenance threads and tests.
  template <typename Fn>
  auto write_blocking(Fn fn) -> std::invoke_result_t<Fn, Transaction&> {
    using Result = std::invoke_result_t<Fn, Transaction&>;
    std::promise<void> committed;
    std::conditional_t<std::is_void_v<Result>, int, std::optional<Result>> result;
    submit_write(
        [&](Transaction& tx) {
          if constexpr (std::is_void_v<Result>) {
            fn(tx);
          } else {
            result.emplace(fn(tx));
          }
        },
        [&](std::exception_ptr error) {
          if (error) {
            committed.set_exception(error);
          } else {
            committed.set_value();
          }
        });
    committed.get_future().get();
    if constexpr (!std::is_void_v<Result>) return std::move(*result);
  }

  // Queues `body` for the writer; `done` runs on the writer's thread after
  // the commit (with nullptr) or after a failure (with the exception). `done`
  // must not block. For callers that pipeline writes without waiting.
  virtual void submit_write(std::function<void(Transaction&)> body,
                            std::function<void(std::exception_ptr)> done) = 0;

  // What a queued send (messaging::send) will read: its conversation and
  // its sender's client_id. A backend that pays a round trip per read while
  // its batch holds a lock may read these for the whole batch at once
  // (PostgreSQL: docs/architecture.md "A batch's sends"). A wrong hint
  // costs time, never correctness.
  struct SendHint {
    ConversationId conversation = 0;
    UserId sender = 0;
    std::string client_id;
  };
  // As submit_write, for a send described by `hint`. `body` may run more
  // than once (a backend may run a batch again, the careful way, after one
  // of its writes failed): only the run that commits counts, so `body` must
  // change nothing outside the transaction but what it returns. By default,
  // submit_write.
  virtual void submit_send(std::function<void(Transaction&)> body, std::function<void(std::exception_ptr)> done,
                           SendHint hint) {
    (void)hint;
    submit_write(std::move(body), std::move(done));
  }

  // Where committed events go. Set once at start-up, before any write.
  virtual void set_event_sink(EventSink* sink) = 0;

  // True when the database answers a trivial query (for /readyz).
  [[nodiscard]] virtual bool ping() = 0;

 protected:
  virtual void run_read(const std::function<void(Transaction&)>& body) = 0;

 private:
  boost::asio::awaitable<void> await_write(std::function<void(Transaction&)> body);

  template <typename Fn>
  auto run(Fn&& fn) -> std::invoke_result_t<Fn, Transaction&> {
    using Result = std::invoke_result_t<Fn, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      run_read([&](Transaction& tx) { fn(tx); });
    } else {
      std::optional<Result> result;
      run_read([&](Transaction& tx) { result.emplace(fn(tx)); });
      return std::move(*result);
    }
  }
};

}  // namespace parley::storage
