// storage::Transaction on one SQLite connection. Internal to the backend.
#pragma once

#include <functional>

#include "storage/sqlite/writer_cache.hpp"
#include "storage/store.hpp"

namespace parley::storage::sqlite {

class Connection;
class Statement;

class SqliteTransaction final : public Transaction {
 public:
  // What only the writer's transactions have: the position counter, the
  // list of events to publish after commit, and a flag set when a message's
  // indexed text was deleted or replaced (its words stay in the search
  // index's segments until the store purges them: SqliteStore), and the
  // memory the writer reads conversations and blocks from (writer_cache.hpp).
  struct Writer {
    Position* last_position;
    std::vector<Event>* events;
    bool* search_text_removed = nullptr;
    WriterCache* cache = nullptr;
    // Set when a message was inserted: the batch's new messages are to be
    // indexed for search before the commit (SqliteStore::index_new_messages).
    bool* messages_inserted = nullptr;
  };

  // A write transaction.
  SqliteTransaction(Connection& db, Writer writer) : db_(db), writer_(writer) {}
  // A read transaction; `committed` is the newest committed position.
  SqliteTransaction(Connection& db, Position committed) : db_(db), committed_(committed) {}

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

 private:
  Writer& writer();
  // The writer's cache, or nullptr in a read transaction.
  WriterCache* cache() { return writer_ ? writer_->cache : nullptr; }
  // A deleted media row was perhaps a group's avatar, whose foreign key is
  // ON DELETE SET NULL: the cached conversation row must forget it too
  // (storage/sql/media_methods.inc).
  void forget_cached_avatar(std::string_view media_id) {
    if (auto* c = cache()) c->forget_avatar(media_id);
  }
  // The conversation's cached entry (read into the cache first if need
  // be); nullptr when there is no such conversation. Writer only.
  WriterCache::Entry* cached_conversation(ConversationId id);
  // Write the pending counters of every conversation, and the pending read
  // marks of one member or of all, before a statement reads those rows.
  void write_pending_counters();
  void write_pending_read(ConversationId conversation, UserId user);
  void write_pending_reads();
  // The search index's 'delete' left a message's old words in its segments
  // (migration 0008's triggers): the store is to purge them after commit.
  void note_search_text_removed();
  // The seq of the conversation's newest message at or before position
  // `pos` (0 when none): a few probes of the (conversation_id, seq) index.
  Seq seq_at_or_before(ConversationId conversation, Position pos);
  // insert_message(), or insert_message_if_new() when `if_new`.
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
  // Runs `select` (built by select_messages()) and loads each message's details.
  std::vector<Message> query_messages(std::string_view select, const std::function<void(Statement&)>& bind);

  Connection& db_;
  std::optional<Writer> writer_;
  Position committed_ = 0;
};

}  // namespace parley::storage::sqlite
