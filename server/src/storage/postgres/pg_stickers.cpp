// PgTransaction's sticker methods: packs, their stickers, users' sets and
// the sticker a message carries (migration 0007). Blob reference counts of
// sticker images are kept by triggers, like those of media rows.
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

constexpr std::string_view kPackColumns = "p.id, p.name, p.title, p.created_at, p.updated_at, p.removed_at";

StickerPackRow read_pack(const Statement& row) {
  StickerPackRow pack;
  pack.id = row.int64(0);
  pack.name = row.text(1);
  pack.title = row.text(2);
  pack.created_at = row.int64(3);
  pack.updated_at = row.int64(4);
  if (!row.is_null(5)) pack.removed_at = row.int64(5);
  return pack;
}

// Columns of a sticker joined with its pack (aliases s and p).
constexpr std::string_view kStickerColumns =
    "s.id, s.pack_id, p.name, s.position, s.emoji, s.sha256, s.bytes, s.content_type, s.width, s.height, "
    "s.retired = 0 AND p.removed_at IS NULL";

Sticker read_sticker(const Statement& row) {
  Sticker sticker;
  sticker.id = row.int64(0);
  sticker.pack_id = row.int64(1);
  sticker.pack_name = row.text(2);
  sticker.position = static_cast<int>(row.int64(3));
  sticker.emoji = row.text(4);
  sticker.sha256 = row.text(5);
  sticker.bytes = row.int64(6);
  sticker.content_type = row.text(7);
  sticker.width = static_cast<int>(row.int64(8));
  sticker.height = static_cast<int>(row.int64(9));
  sticker.available = row.int64(10) != 0;
  return sticker;
}

std::string joined(std::string_view head, std::string_view columns, std::string_view tail) {
  std::string s(head);
  s += columns;
  s += tail;
  return s;
}

}  // namespace

std::optional<StickerPackRow> PgTransaction::sticker_pack_by_name(std::string_view name) {
  static const std::string kSql = joined("SELECT ", kPackColumns, " FROM sticker_packs p WHERE p.name = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, name);
  if (!query.step()) return std::nullopt;
  return read_pack(query);
}

StickerPackRow PgTransaction::install_sticker_pack(std::string_view name, std::string_view title,
                                                       const std::vector<NewSticker>& stickers, UnixMillis now) {
  db_.prepare(
         "INSERT INTO sticker_packs (name, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) "
         "ON CONFLICT (name) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at, "
         "removed_at = NULL")
      .bind(1, name)
      .bind(2, title)
      .bind(3, now)
      .run();
  auto pack = *sticker_pack_by_name(name);
  // The previous stickers: gone where no message carries them, retired where
  // one does (the message keeps showing it).
  db_.prepare(
         "DELETE FROM stickers WHERE pack_id = ?1 AND NOT EXISTS "
         "(SELECT 1 FROM message_stickers m WHERE m.sticker_id = stickers.id)")
      .bind(1, pack.id)
      .run();
  db_.prepare("UPDATE stickers SET retired = 1 WHERE pack_id = ?1").bind(1, pack.id).run();
  int position = 0;
  for (const auto& s : stickers) {
    db_.prepare(
           "INSERT INTO stickers (pack_id, position, emoji, sha256, bytes, content_type, width, height, created_at) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
        .bind(1, pack.id)
        .bind(2, std::int64_t{position++})
        .bind(3, s.emoji)
        .bind(4, s.sha256)
        .bind(5, s.bytes)
        .bind(6, s.content_type)
        .bind(7, std::int64_t{s.width})
        .bind(8, std::int64_t{s.height})
        .bind(9, now)
        .run();
  }
  return pack;
}

bool PgTransaction::remove_sticker_pack(std::string_view name, UnixMillis now) {
  auto pack = sticker_pack_by_name(name);
  if (!pack || pack->removed_at) return false;
  db_.prepare("UPDATE sticker_packs SET removed_at = ?2 WHERE id = ?1").bind(1, pack->id).bind(2, now).run();
  db_.prepare("DELETE FROM user_sticker_packs WHERE pack_id = ?1").bind(1, pack->id).run();
  return true;
}

namespace {

// Counts and covers for a list of packs read by one of the queries below.
template <typename Tx>
std::vector<StickerPackSummary> summarise(Connection& db, std::vector<StickerPackRow> packs, Tx& tx) {
  std::vector<StickerPackSummary> result;
  for (auto& pack : packs) {
    StickerPackSummary summary;
    Statement& count = db.prepare("SELECT count(*) FROM stickers WHERE pack_id = ?1 AND retired = 0");
    count.bind(1, pack.id);
    count.step();
    summary.count = static_cast<std::size_t>(count.int64(0));
    auto stickers = tx.stickers_of(pack.id);
    if (!stickers.empty()) summary.cover = std::move(stickers.front());
    summary.pack = std::move(pack);
    result.push_back(std::move(summary));
  }
  return result;
}

}  // namespace

std::vector<StickerPackSummary> PgTransaction::sticker_packs() {
  static const std::string kSql =
      joined("SELECT ", kPackColumns, " FROM sticker_packs p WHERE p.removed_at IS NULL ORDER BY p.id");
  Statement& query = db_.prepare(kSql);
  std::vector<StickerPackRow> packs;
  while (query.step()) packs.push_back(read_pack(query));
  return summarise(db_, std::move(packs), *this);
}

std::vector<Sticker> PgTransaction::stickers_of(StickerPackId pack) {
  static const std::string kSql =
      joined("SELECT ", kStickerColumns,
             " FROM stickers s JOIN sticker_packs p ON p.id = s.pack_id WHERE s.pack_id = ?1 AND s.retired = 0 "
             "ORDER BY s.position");
  Statement& query = db_.prepare(kSql);
  query.bind(1, pack);
  std::vector<Sticker> result;
  while (query.step()) result.push_back(read_sticker(query));
  return result;
}

std::optional<Sticker> PgTransaction::sticker_by_id(StickerId id) {
  static const std::string kSql =
      joined("SELECT ", kStickerColumns, " FROM stickers s JOIN sticker_packs p ON p.id = s.pack_id WHERE s.id = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_sticker(query);
}

std::vector<StickerPackSummary> PgTransaction::user_sticker_packs(UserId user) {
  static const std::string kSql =
      joined("SELECT ", kPackColumns,
             " FROM user_sticker_packs u JOIN sticker_packs p ON p.id = u.pack_id WHERE u.user_id = ?1 "
             "AND p.removed_at IS NULL ORDER BY u.position");
  Statement& query = db_.prepare(kSql);
  query.bind(1, user);
  std::vector<StickerPackRow> packs;
  while (query.step()) packs.push_back(read_pack(query));
  return summarise(db_, std::move(packs), *this);
}

bool PgTransaction::add_user_sticker_pack(UserId user, StickerPackId pack, UnixMillis now) {
  db_.prepare(
         "INSERT INTO user_sticker_packs (user_id, pack_id, position, added_at) SELECT ?1, ?2, "
         "coalesce(max(position), 0) + 1, ?3 FROM user_sticker_packs WHERE user_id = ?1 "
         "ON CONFLICT (user_id, pack_id) DO NOTHING")
      .bind(1, user)
      .bind(2, pack)
      .bind(3, now)
      .run();
  return db_.changes() > 0;
}

bool PgTransaction::remove_user_sticker_pack(UserId user, StickerPackId pack) {
  db_.prepare("DELETE FROM user_sticker_packs WHERE user_id = ?1 AND pack_id = ?2").bind(1, user).bind(2, pack).run();
  return db_.changes() > 0;
}

bool PgTransaction::user_has_sticker_pack(UserId user, StickerPackId pack) {
  Statement& query = db_.prepare("SELECT 1 FROM user_sticker_packs WHERE user_id = ?1 AND pack_id = ?2");
  query.bind(1, user).bind(2, pack);
  return query.step();
}

void PgTransaction::load_sticker(Message& message) {
  message.sticker.reset();
  if (message.deleted_at) return;
  Statement& query = db_.prepare(
      "SELECT s.id, p.name, s.emoji, s.width, s.height FROM message_stickers m JOIN stickers s ON s.id = m.sticker_id "
      "JOIN sticker_packs p ON p.id = s.pack_id WHERE m.message_id = ?1");
  query.bind(1, message.id);
  if (!query.step()) return;
  message.sticker = MessageSticker{query.int64(0), query.text(1), query.text(2), static_cast<int>(query.int64(3)),
                                   static_cast<int>(query.int64(4))};
}

}  // namespace parley::storage::postgres
