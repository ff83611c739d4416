// PgTransaction's media methods: media rows, thumbnails, blob reference
// counts and resumable uploads (migration 0005). The reference counts are kept
// by triggers, so nothing here adjusts them by hand.
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

constexpr std::string_view kMediaColumns = "id, owner_id, sha256, size, content_type, name, width, height, created_at";

std::optional<int> optional_int(const Statement& row, int column) {
  if (row.is_null(column)) return std::nullopt;
  return static_cast<int>(row.int64(column));
}

std::optional<std::int64_t> widen(std::optional<int> value) {
  if (!value) return std::nullopt;
  return *value;
}

Media read_media(const Statement& row) {
  Media media;
  media.id = row.text(0);
  media.owner_id = row.int64(1);
  media.sha256 = row.text(2);
  media.size = row.int64(3);
  media.content_type = row.text(4);
  media.name = row.text(5);
  media.width = optional_int(row, 6);
  media.height = optional_int(row, 7);
  media.created_at = row.int64(8);
  return media;
}

constexpr std::string_view kUploadColumns = "id, owner_id, name, total_size, received, created_at, expires_at";

MediaUpload read_upload(const Statement& row) {
  return MediaUpload{row.text(0), row.int64(1), row.text(2), row.int64(3), row.int64(4), row.int64(5), row.int64(6)};
}

std::string with_columns(std::string_view head, std::string_view columns, std::string_view tail) {
  std::string s(head);
  s += columns;
  s += tail;
  return s;
}

}  // namespace

void PgTransaction::insert_media(const Media& media) {
  static const std::string kSql =
      with_columns("INSERT INTO media (", kMediaColumns, ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  db_.prepare(kSql)
      .bind(1, media.id)
      .bind(2, media.owner_id)
      .bind(3, media.sha256)
      .bind(4, media.size)
      .bind(5, media.content_type)
      .bind(6, media.name)
      .bind_optional_int(7, widen(media.width))
      .bind_optional_int(8, widen(media.height))
      .bind(9, media.created_at)
      .run();
}

std::optional<Media> PgTransaction::media_by_id(std::string_view id) {
  static const std::string kSql = with_columns("SELECT ", kMediaColumns, " FROM media WHERE id = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_media(query);
}

bool PgTransaction::delete_media(std::string_view id) {
  db_.prepare("DELETE FROM media WHERE id = ?1").bind(1, id).run();
  bool deleted = db_.changes() > 0;
  // A group avatar's foreign key is ON DELETE SET NULL.
  return deleted;
}

std::int64_t PgTransaction::media_usage(UserId user) {
  Statement& query = db_.prepare(
      "SELECT (SELECT coalesce(sum(size), 0) FROM media WHERE owner_id = ?1) + "
      "(SELECT coalesce(sum(total_size), 0) FROM media_uploads WHERE owner_id = ?1)");
  query.bind(1, user);
  query.step();
  return query.int64(0);
}

std::int64_t PgTransaction::media_references(std::string_view id) {
  Statement& query = db_.prepare("SELECT count(*) FROM message_attachments WHERE media_id = ?1");
  query.bind(1, id);
  query.step();
  return query.int64(0);
}

std::optional<MediaThumbnail> PgTransaction::media_thumbnail(std::string_view media_id, int size) {
  Statement& query = db_.prepare(
      "SELECT sha256, bytes, content_type, width, height, created_at FROM media_thumbnails "
      "WHERE media_id = ?1 AND size = ?2");
  query.bind(1, media_id).bind(2, std::int64_t{size});
  if (!query.step()) return std::nullopt;
  return MediaThumbnail{std::string(media_id),
                        size,
                        query.text(0),
                        query.int64(1),
                        query.text(2),
                        static_cast<int>(query.int64(3)),
                        static_cast<int>(query.int64(4)),
                        query.int64(5)};
}

bool PgTransaction::insert_media_thumbnail(const MediaThumbnail& t) {
  db_.prepare(
         "INSERT INTO media_thumbnails (media_id, size, sha256, bytes, content_type, width, height, created_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (media_id, size) DO NOTHING")
      .bind(1, t.media_id)
      .bind(2, std::int64_t{t.size})
      .bind(3, t.sha256)
      .bind(4, t.bytes)
      .bind(5, t.content_type)
      .bind(6, std::int64_t{t.width})
      .bind(7, std::int64_t{t.height})
      .bind(8, t.created_at)
      .run();
  return db_.changes() > 0;
}

void PgTransaction::note_blob(std::string_view sha256, std::int64_t size, UnixMillis now) {
  db_.prepare(
         "INSERT INTO media_blobs (sha256, size, refcount, created_at) VALUES (?1, ?2, 0, ?3) "
         "ON CONFLICT (sha256) DO NOTHING")
      .bind(1, sha256)
      .bind(2, size)
      .bind(3, now)
      .run();
}

std::vector<std::string> PgTransaction::unreferenced_blobs(std::size_t limit) {
  Statement& query = db_.prepare("SELECT sha256 FROM media_blobs WHERE refcount = 0 ORDER BY sha256 LIMIT ?1");
  query.bind(1, static_cast<std::int64_t>(limit));
  std::vector<std::string> result;
  while (query.step()) result.push_back(query.text(0));
  return result;
}

bool PgTransaction::delete_unreferenced_blob(std::string_view sha256) {
  db_.prepare("DELETE FROM media_blobs WHERE sha256 = ?1 AND refcount = 0").bind(1, sha256).run();
  return db_.changes() > 0;
}

bool PgTransaction::blob_referenced(std::string_view sha256) {
  Statement& query = db_.prepare("SELECT refcount > 0 FROM media_blobs WHERE sha256 = ?1");
  query.bind(1, sha256);
  return query.step() && query.int64(0) != 0;
}

void PgTransaction::insert_upload(const MediaUpload& upload) {
  static const std::string kSql =
      with_columns("INSERT INTO media_uploads (", kUploadColumns, ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  db_.prepare(kSql)
      .bind(1, upload.id)
      .bind(2, upload.owner_id)
      .bind(3, upload.name)
      .bind(4, upload.total_size)
      .bind(5, upload.received)
      .bind(6, upload.created_at)
      .bind(7, upload.expires_at)
      .run();
}

std::optional<MediaUpload> PgTransaction::upload_by_id(std::string_view id) {
  static const std::string kSql = with_columns("SELECT ", kUploadColumns, " FROM media_uploads WHERE id = ?1");
  Statement& query = db_.prepare(kSql);
  query.bind(1, id);
  if (!query.step()) return std::nullopt;
  return read_upload(query);
}

bool PgTransaction::advance_upload(std::string_view id, std::int64_t from, std::int64_t received,
                                       UnixMillis expires_at) {
  db_.prepare("UPDATE media_uploads SET received = ?3, expires_at = ?4 WHERE id = ?1 AND received = ?2")
      .bind(1, id)
      .bind(2, from)
      .bind(3, received)
      .bind(4, expires_at)
      .run();
  return db_.changes() > 0;
}

bool PgTransaction::delete_upload(std::string_view id) {
  db_.prepare("DELETE FROM media_uploads WHERE id = ?1").bind(1, id).run();
  return db_.changes() > 0;
}

std::int64_t PgTransaction::open_uploads(UserId user) {
  Statement& query = db_.prepare("SELECT count(*) FROM media_uploads WHERE owner_id = ?1");
  query.bind(1, user);
  query.step();
  return query.int64(0);
}

std::vector<MediaUpload> PgTransaction::expired_uploads(UnixMillis now, std::size_t limit) {
  static const std::string kSql =
      with_columns("SELECT ", kUploadColumns, " FROM media_uploads WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2");
  Statement& query = db_.prepare(kSql);
  query.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::vector<MediaUpload> result;
  while (query.step()) result.push_back(read_upload(query));
  return result;
}

std::vector<UploadId> PgTransaction::upload_ids() {
  Statement& query = db_.prepare("SELECT id FROM media_uploads");
  std::vector<UploadId> result;
  while (query.step()) result.push_back(query.text(0));
  return result;
}

}  // namespace parley::storage::postgres
