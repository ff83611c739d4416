#include "store/migrations.hpp"

#include <array>
#include <string>

namespace parley::store {

namespace {

// Never edit an entry once released: add one.
constexpr std::array<const char*, 2> kMigrations{
    // 1: the first schema.
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE users (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL, display_name TEXT NOT NULL, status_text TEXT NOT NULL,
  avatar_media_id TEXT, deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, topic TEXT NOT NULL, created_by INTEGER,
  created_at INTEGER NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0, avatar_media_id TEXT,
  role TEXT NOT NULL DEFAULT 'member', read_seq INTEGER NOT NULL DEFAULT 0, peer_id INTEGER, muted_until INTEGER);
CREATE TABLE members (
  conversation_id INTEGER NOT NULL, user_id INTEGER NOT NULL, role TEXT NOT NULL, joined_at INTEGER NOT NULL,
  read_seq INTEGER NOT NULL DEFAULT 0, delivered_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)) WITHOUT ROWID;
-- text is a BLOB: plain UTF-8, or nonce || ciphertext when encrypted.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL, seq INTEGER NOT NULL, sender_id INTEGER NOT NULL,
  client_id TEXT NOT NULL, text BLOB NOT NULL, reply_to INTEGER, mentions TEXT NOT NULL, reactions TEXT NOT NULL,
  attachments TEXT NOT NULL, sticker_id INTEGER, created_at INTEGER NOT NULL, edited_at INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX messages_by_seq ON messages (conversation_id, seq);
CREATE INDEX messages_by_time ON messages (created_at, id);
CREATE INDEX messages_by_client_id ON messages (client_id) WHERE client_id <> '';
-- Its own copy of the text (not external content): rows can then be
-- deleted by rowid alone, which SQLite 3.40's contentless tables cannot do.
CREATE VIRTUAL TABLE messages_fts USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2');
-- The seq below which a conversation's history was evicted.
CREATE TABLE history_floor (conversation_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE outbox (
  ordinal INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL UNIQUE, conversation_id INTEGER NOT NULL,
  text BLOB NOT NULL, reply_to INTEGER, attachments TEXT NOT NULL, created_at INTEGER NOT NULL,
  state TEXT NOT NULL, error TEXT);
CREATE TABLE pending_reads (conversation_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE contacts (user_id INTEGER PRIMARY KEY, since INTEGER NOT NULL);
CREATE TABLE invitations (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, incoming INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE blocks (user_id INTEGER PRIMARY KEY);
CREATE TABLE media_cache (key TEXT PRIMARY KEY, size INTEGER NOT NULL, last_used INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX media_cache_lru ON media_cache (last_used, key);
)sql",
    // 2: uploads in progress (resumed after a restart of the app), stickers in the outbox.
    R"sql(
CREATE TABLE uploads (
  client_id TEXT PRIMARY KEY,
  conversation_id INTEGER NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  caption BLOB NOT NULL,
  upload_id TEXT,
  offset INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
-- Sticker messages wait in the outbox like text.
ALTER TABLE outbox ADD COLUMN sticker_id INTEGER;
)sql",
};

}  // namespace

int schema_version() { return static_cast<int>(kMigrations.size()); }

void migrate(Database& db) {
  const auto current = db.query_int("PRAGMA user_version");
  if (current > schema_version()) {
    throw StoreError("the store was written by a newer libparley (schema " + std::to_string(current) + ")");
  }
  if (current == 0) {
    // Must precede the first table: lets evicted pages return to the file
    // system (PRAGMA incremental_vacuum), so the size limit bounds the file.
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  }
  for (auto version = current; version < schema_version(); ++version) {
    Transaction transaction(db);
    db.exec(kMigrations[static_cast<std::size_t>(version)]);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    transaction.commit();
  }
}

}  // namespace parley::store
