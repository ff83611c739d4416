// storage::Transaction on one PostgreSQL connection. Internal to the backend.
// The SQL follows the SQLite backend's statement for statement where the
// dialects agree; docs/architecture.md "PostgreSQL" lists where they differ.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "storage/store.hpp"

namespace parley::storage::postgres {

class Connection;
class Statement;

// A write batch's sends, read together and written together (PgStore;
// docs/architecture.md "A batch's sends"). Under the stream lock, the batch
// reads, in the round trip that takes the lock, the conversations its
// queued sends name (with members and a direct conversation's blocks), the
// (sender, client_id) pairs already stored, and message ids for them. While
// `on`, a send's checks are answered from that and its rows are held back
// (`messages` and the rest) until the connection next sends something:
// then they go first, in the same round trip (defer_held_writes). Nobody
// else writes meanwhile (other nodes wait for the stream lock); a write of
// this batch that ran for real (Connection::writes_run moved) ends the
// answers for the rest of the batch.
struct SendBatch {
  struct Conversation {
    storage::Conversation row;  // last_seq and last_pos as the batch moved them
    std::vector<UserId> members;
    std::vector<Seq> read_marks;                    // members[i]'s read_seq, as the batch moved it
    std::vector<std::pair<UserId, UserId>> blocks;  // (user, blocked), between members of a direct conversation
  };
  struct Row {
    MessageId id = 0;
    ConversationId conversation = 0;
    Seq seq = 0;
    Position pos = 0;
    UserId sender = 0;
    std::string client_id;
    std::string body;
    std::optional<MessageId> reply_to;
    UnixMillis created_at = 0;
    std::int64_t attachment_count = 0;
  };

  // Read under the lock. A conversation mapped to nullopt does not exist.
  std::unordered_map<ConversationId, std::optional<Conversation>> conversations;
  std::set<std::pair<UserId, std::string>> client_ids;  // taken: stored before the batch, or by it
  std::vector<MessageId> ids;                           // reserved for the batch's messages
  std::size_t next_id = 0;

  bool on = false;             // answering from the above (PgStore opens and closes it)
  bool valid = false;          // the above is still the database's state (but for held rows)
  std::uint64_t writes = 0;    // Connection::writes_run() when it was
  std::uint64_t inserted = 0;  // messages held so far, in all

  // Held back, in the order they go.
  std::vector<Row> messages;
  std::vector<std::tuple<MessageId, std::string, std::int64_t>> attachments;  // (message, media, position)
  std::vector<std::pair<MessageId, UserId>> mentions;
  std::vector<std::pair<MessageId, StickerId>> stickers;

  // Reads what the hints name, in the round trip of `lock` (the stream
  // lock's statement, bound); after it, `lock` steps through its row.
  void prefetch(Connection& db, Statement& lock, const std::vector<Store::SendHint>& hints);
  void clear_held();
};

// Defers the held rows of `batch` on `db` as a few set-based statements
// (one INSERT of the messages from arrays, one UPDATE of the conversations'
// seqs, one of the senders' read marks, ...), and forgets them.
void defer_held_writes(Connection& db, SendBatch& batch);

class PgTransaction final : public Transaction {
 public:
  // What only the writer's transactions have: the position counter of the
  // batch (the batch holds stream_state's row lock: PgStore), the list of
  // events to publish after commit, and the batch's sends when they are
  // read and written together.
  struct Writer {
    Position* last_position;
    std::vector<Event>* events;
    SendBatch* sends = nullptr;
  };

  // A write transaction.
  PgTransaction(Connection& db, Writer writer) : db_(db), writer_(writer) {}
  // A read transaction, on a REPEATABLE READ snapshot.
  explicit PgTransaction(Connection& db) : db_(db) {}

  std::optional<User> insert_user(const NewUser& user) override;
  std::optional<User> user_by_id(UserId id) override;
  std::optional<User> user_by_username(std::string_view username) override;
  std::optional<std::string> password_hash(UserId id) override;
  void set_password_hash(UserId id, std::string_view hash) override;
  std::vector<SessionId> purge_account(UserId user, std::string_view placeholder_username, UnixMillis now) override;
  void reserve_username(std::string_view username_hash, UnixMillis until) override;
  bool username_reserved(std::string_view username_hash, UnixMillis now) override;
  std::optional<TwoFactor> two_factor(UserId user) override;
  void begin_two_factor(UserId user, std::string_view secret, UnixMillis now) override;
  bool enable_two_factor(UserId user, std::int64_t step, const std::vector<std::string>& recovery_code_hashes,
                         UnixMillis now) override;
  bool use_two_factor_step(UserId user, std::int64_t step) override;
  bool use_recovery_code(UserId user, std::string_view code_hash, UnixMillis now) override;
  int unused_recovery_codes(UserId user) override;
  void delete_two_factor(UserId user) override;
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
  std::vector<SessionId> delete_sessions_idle_since(UnixMillis cutoff) override;

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

  bool block_between(UserId a, UserId b) override;
  bool insert_block(UserId user, UserId blocked, UnixMillis now) override;
  bool delete_block(UserId user, UserId blocked) override;
  std::vector<Block> blocks(UserId user) override;

  void set_last_online(UserId user, UnixMillis when) override;

  Conversation insert_conversation(ConversationKind kind, std::string_view name, std::string_view topic,
                                   const std::optional<std::string>& direct_key, UserId creator,
                                   UnixMillis now) override;
  std::optional<Conversation> conversation_by_id(ConversationId id) override;
  std::optional<Conversation> conversation_by_direct_key(std::string_view direct_key) override;
  void update_conversation(ConversationId id, const std::optional<std::string>& name,
                           const std::optional<std::string>& topic) override;
  std::vector<ConversationSummary> conversations_of(UserId user) override;

  std::optional<Member> member(ConversationId conversation, UserId user) override;
  std::vector<Member> members(ConversationId conversation) override;
  std::vector<UserId> member_ids(ConversationId conversation) override;
  void insert_member(const Member& member) override;
  bool delete_member(ConversationId conversation, UserId user) override;
  void set_role(ConversationId conversation, UserId user, Role role) override;
  bool advance_read(ConversationId conversation, UserId user, Seq seq) override;
  bool advance_delivered(ConversationId conversation, UserId user, Seq seq) override;

  Message insert_message(const NewMessage& message, Position pos) override;
  std::optional<Message> insert_message_if_new(const NewMessage& message, Position pos) override;
  std::optional<Message> message_by_id(MessageId id) override;
  std::optional<Message> message_by_client_id(UserId sender, std::string_view client_id) override;
  void edit_message(MessageId id, std::string_view body, const std::vector<UserId>& mentions,
                    UnixMillis now) override;
  void delete_message(MessageId id, UnixMillis now) override;
  bool add_reaction(MessageId id, UserId user, std::string_view emoji, UnixMillis now) override;
  bool remove_reaction(MessageId id, UserId user, std::string_view emoji) override;
  std::vector<Message> messages_before(ConversationId conversation, Seq before, std::size_t limit) override;
  std::vector<Message> messages_after(ConversationId conversation, Seq after, std::size_t limit) override;

  void insert_media(const Media& media) override;
  std::optional<Media> media_by_id(std::string_view id) override;
  bool delete_media(std::string_view id) override;
  std::int64_t media_usage(UserId user) override;
  std::int64_t media_references(std::string_view id) override;
  std::optional<MediaThumbnail> media_thumbnail(std::string_view media_id, int size) override;
  bool insert_media_thumbnail(const MediaThumbnail& thumbnail) override;
  void note_blob(std::string_view sha256, std::int64_t size, UnixMillis now) override;
  std::vector<std::string> unreferenced_blobs(std::size_t limit) override;
  bool delete_unreferenced_blob(std::string_view sha256) override;
  bool blob_referenced(std::string_view sha256) override;
  void insert_upload(const MediaUpload& upload) override;
  std::optional<MediaUpload> upload_by_id(std::string_view id) override;
  bool advance_upload(std::string_view id, std::int64_t from, std::int64_t received, UnixMillis expires_at) override;
  bool delete_upload(std::string_view id) override;
  std::int64_t open_uploads(UserId user) override;
  std::vector<MediaUpload> expired_uploads(UnixMillis now, std::size_t limit) override;
  std::vector<UploadId> upload_ids() override;

  bool media_shared_with(std::string_view id, UserId user) override;
  void set_conversation_avatar(ConversationId id, const std::optional<std::string>& media_id) override;
  std::vector<MediaId> orphaned_media(UnixMillis before, std::size_t limit) override;
  bool delete_orphaned_media(std::string_view id, UnixMillis before) override;
  std::optional<StickerPackRow> sticker_pack_by_name(std::string_view name) override;
  StickerPackRow install_sticker_pack(std::string_view name, std::string_view title,
                                      const std::vector<NewSticker>& stickers, UnixMillis now) override;
  bool remove_sticker_pack(std::string_view name, UnixMillis now) override;
  std::vector<StickerPackSummary> sticker_packs() override;
  std::vector<Sticker> stickers_of(StickerPackId pack) override;
  SearchPage search_messages(const SearchQuery& query) override;  // sqlite_search.cpp
  std::optional<Sticker> sticker_by_id(StickerId id) override;
  std::vector<StickerPackSummary> user_sticker_packs(UserId user) override;
  bool add_user_sticker_pack(UserId user, StickerPackId pack, UnixMillis now) override;
  bool remove_user_sticker_pack(UserId user, StickerPackId pack) override;
  bool user_has_sticker_pack(UserId user, StickerPackId pack) override;

  // Data exports (sqlite_exports.cpp).
  void insert_export(const DataExport& data_export) override;
  std::optional<DataExport> export_by_id(std::string_view id) override;
  std::optional<DataExport> latest_export(UserId user) override;
  std::optional<UnixMillis> last_counted_export(UserId user) override;
  bool start_export(std::string_view id) override;
  bool finish_export(std::string_view id, std::int64_t size, std::string_view sha256, UnixMillis now,
                     UnixMillis expires_at) override;
  bool fail_export(std::string_view id, std::string_view error, UnixMillis now) override;
  std::vector<ExportId> fail_unfinished_exports(std::string_view error, UnixMillis now) override;
  std::vector<ExportId> expire_exports(UnixMillis now, std::size_t limit) override;
  std::vector<ExportId> ready_exports() override;
  std::vector<ExportId> delete_exports(UserId user) override;
  PushSubscription upsert_push_subscription(const PushSubscription& subscription) override;
  std::vector<PushSubscription> push_subscriptions(UserId user) override;
  bool delete_push_subscription(UserId user, PushSubscriptionId id) override;
  bool delete_push_subscription_by_id(PushSubscriptionId id) override;
  std::vector<PastConversation> past_conversations(UserId user) override;
  ReadablePage readable_messages(UserId reader, ConversationId conversation, Seq after, std::size_t limit) override;

  Position next_position() override;
  Position current_position() override;
  void emit(Event event, Keep keep) override;
  std::vector<StreamItem> stream_since(UserId user, Position after, std::size_t limit) override;
  std::vector<Event> events_between(Position after, Position upto) override;  // pg_event_range.cpp

 private:
  // Nothing to forget: the PostgreSQL backend keeps no writer cache of
  // conversation rows (storage/sql/media_methods.inc).
  void forget_cached_avatar(std::string_view) {}
  Writer& writer();
  // insert_message(), or with `if_new` insert_message_if_new().
  std::optional<Message> insert_message_row(const NewMessage& message, Position pos, bool if_new);
  // Fills mentions and reactions of messages read from the messages table.
  void load_details(std::vector<Message>& messages);
  void load_details(Message& message);
  // The attachments of a message whose attachment_count is above 0.
  void load_attachments(Message& message);
  // Fills message.sticker from message_stickers (sqlite_stickers.cpp).
  void load_sticker(Message& message);
  // `message` as stored with `id`, `seq` and `pos`, its attachment and
  // sticker rows already written (or held to be written before any read).
  Message message_as_inserted(const NewMessage& message, MessageId id, Seq seq, Position pos);
  // Makes `message` (read from the messages table) what it was at position
  // `end`: content, mentions, edit time and reactions then. False when that
  // content is not known (overwritten before versions were kept).
  bool load_details_as_of(Message& message, Position end);
  // "SELECT <message columns> <from_where>", for query_messages(); callers
  // keep the result in a static so that it is built once.
  static std::string select_messages(std::string_view from_where);
  // Runs `select` (built by select_messages()) and loads each message's details.
  std::vector<Message> query_messages(std::string_view select, const std::function<void(Statement&)>& bind);

  // The read mark a send's statement moved with its message (the sender's,
  // to the message's seq), so that the advance_read() the send makes next
  // costs no statement; `moved` is what that call answers.
  struct FoldedRead {
    ConversationId conversation;
    UserId user;
    Seq seq;
    bool moved;
  };

  // What a write's conversation_by_id() read along with the conversation
  // (its member ids; for a direct conversation, the blocks between its
  // members), for the member_ids() and block_between() that follow it.
  struct Prefetch {
    ConversationId conversation = 0;
    std::vector<UserId> members;
    bool blocks_known = false;
    std::vector<std::pair<UserId, UserId>> blocks;  // (user, blocked)
    std::uint64_t statements_run = 0;               // the connection's count when read
  };
  // The prefetch of `conversation` if no statement ran since it was read.
  const Prefetch* prefetched(ConversationId conversation) const;
  // The batch's sends while its reads answer for the database, else null.
  SendBatch* sends();
  // insert_message_if_new() from the batch's reads, its rows held back;
  // nullopt (with `answered` false) when they cannot answer.
  std::optional<Message> insert_held(const NewMessage& message, Position pos, bool& answered);

  Connection& db_;
  std::optional<Writer> writer_;
  std::optional<FoldedRead> folded_read_;
  std::optional<Prefetch> prefetch_;
};

}  // namespace parley::storage::postgres
