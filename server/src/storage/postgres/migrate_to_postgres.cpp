#include "storage/postgres/migrate_to_postgres.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include "core/config.hpp"
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage::postgres {
namespace {

// Every table, parents before children (foreign keys are checked as rows
// arrive). stream_state is carried over separately.
constexpr std::string_view kTables[] = {
    "users",          "sessions",         "conversation_mutes", "invitations",     "contacts",
    "blocks",         "two_factor",       "recovery_codes",     "reserved_usernames", "media_blobs",
    "media",          "media_thumbnails", "media_uploads",      "conversations",   "members",
    "past_memberships", "messages",       "mentions",           "reactions",       "message_versions",
    "past_reactions", "events",           "message_attachments", "media_orphans",  "sticker_packs",
    "stickers",       "user_sticker_packs", "message_stickers", "data_exports",    "push_subscriptions",
};

// Tables whose id is an identity: its sequence continues after the copied ids.
constexpr std::string_view kIdentityTables[] = {"users",         "sessions", "invitations",  "conversations",
                                                "messages",      "sticker_packs", "stickers", "push_subscriptions"};

struct Column {
  std::string name;
  bool bytes = false;  // bytea
};

std::vector<Column> target_columns(Connection& pg, std::string_view table) {
  std::vector<Column> columns;
  Statement& query = pg.prepare(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
      "AND table_name = ?1 ORDER BY ordinal_position");
  query.bind(1, table);
  while (query.step()) columns.push_back({query.text(0), query.text(1) == "bytea"});
  query.reset();
  return columns;
}

std::int64_t count_sqlite(sqlite::Connection& db, std::string_view table) {
  sqlite::Statement& query = db.prepare(fmt::format("SELECT count(*) FROM {}", table));
  query.step();
  std::int64_t n = query.int64(0);
  db.release_statements();
  return n;
}

std::int64_t count_pg(Connection& pg, std::string_view table) {
  Statement& query = pg.prepare(fmt::format("SELECT count(*) FROM {}", table));
  query.step();
  std::int64_t n = query.int64(0);
  query.reset();
  return n;
}

std::int64_t copy_table(sqlite::Connection& db, Connection& pg, std::string_view table) {
  auto columns = target_columns(pg, table);
  if (columns.empty()) throw StorageError(fmt::format("table {} is missing in PostgreSQL", table));
  std::string names;
  std::string params;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) {
      names += ", ";
      params += ", ";
    }
    names += columns[i].name;
    params += fmt::format("?{}", i + 1);
  }
  std::string insert = fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, params);
  // Rows in key order: a message's reply_to refers to an earlier id.
  sqlite3_stmt* select = nullptr;
  std::string sql = fmt::format("SELECT {} FROM {}{}", names, table,
                                table == "messages" || table == "users" || table == "conversations" ? " ORDER BY id"
                                                                                                    : "");
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &select, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db.handle());
    throw StorageError(fmt::format("reading {} from SQLite: {}", table, message));
  }
  std::int64_t rows = 0;
  try {
    while (sqlite3_step(select) == SQLITE_ROW) {
      Statement& row = pg.prepare(insert);
      for (std::size_t i = 0; i < columns.size(); ++i) {
        int c = static_cast<int>(i);
        int index = c + 1;
        switch (sqlite3_column_type(select, c)) {
          case SQLITE_NULL:
            row.bind_null(index);
            break;
          case SQLITE_INTEGER:
            row.bind(index, static_cast<std::int64_t>(sqlite3_column_int64(select, c)));
            break;
          default: {
            const auto* data = static_cast<const char*>(sqlite3_column_blob(select, c));
            std::string_view value(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(select, c)));
            if (columns[i].bytes) {
              row.bind_blob(index, value);
            } else {
              row.bind(index, value);
            }
          }
        }
      }
      row.run();
      pg.release_statements();
      ++rows;
    }
  } catch (...) {
    sqlite3_finalize(select);
    throw;
  }
  sqlite3_finalize(select);
  return rows;
}

}  // namespace

MigrationSummary migrate_sqlite_to_postgres(const std::filesystem::path& sqlite_path, const std::string& conninfo) {
  if (!std::filesystem::exists(sqlite_path)) {
    throw StorageError(fmt::format("no SQLite database at {}", sqlite_path.string()));
  }
  // Brings the SQLite file to the newest schema (the two backends' newest
  // schemas hold the same tables and columns), then closes it cleanly.
  { sqlite::SqliteStore upgraded(sqlite_path, StorageOptions{}); }
  sqlite::Connection db(sqlite_path);
  Connection pg(conninfo);
  migrate(pg);

  MigrationSummary summary;
  db.exec("BEGIN");  // one snapshot of the source
  pg.exec("BEGIN");
  try {
    for (auto table : kTables) {
      if (count_pg(pg, table) != 0) {
        throw StorageError(fmt::format("the PostgreSQL database is not empty (table {} has rows); refusing", table));
      }
    }
    for (auto table : kTables) {
      // The copied rows carry the reference counts and orphan entries the
      // triggers would otherwise count again.
      pg.exec(fmt::format("ALTER TABLE {} DISABLE TRIGGER USER", table));
      std::int64_t rows = copy_table(db, pg, table);
      pg.exec(fmt::format("ALTER TABLE {} ENABLE TRIGGER USER", table));
      summary.tables.emplace_back(std::string(table), rows);
    }
    // The stream continues where it was: no position is ever handed out twice.
    sqlite::Statement& position = db.prepare(
        "SELECT MAX((SELECT last_pos FROM stream_state), COALESCE((SELECT MAX(pos) FROM events), 0), "
        "COALESCE((SELECT MAX(pos) FROM messages), 0))");
    position.step();
    summary.position = position.int64(0);
    db.release_statements();
    pg.prepare("UPDATE stream_state SET last_pos = ?1").bind(1, summary.position).run();
    for (auto table : kIdentityTables) {
      pg.exec(fmt::format(
          "SELECT setval(pg_get_serial_sequence('{0}', 'id'), GREATEST(COALESCE((SELECT MAX(id) FROM {0}), 0), 1), "
          "(SELECT MAX(id) FROM {0}) IS NOT NULL)",
          table));
    }
    // Sticker ids are never reused: AUTOINCREMENT's high-water mark, if a
    // deleted sticker had a higher id than any left.
    sqlite::Statement& high = db.prepare("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'stickers'");
    std::int64_t sticker_high = high.step() ? high.int64(0) : 0;
    db.release_statements();
    if (sticker_high > 0) {
      pg.prepare("SELECT setval(pg_get_serial_sequence('stickers', 'id'), GREATEST(?1, (SELECT COALESCE(MAX(id), 0) FROM stickers)))")
          .bind(1, sticker_high)
          .run();
    }
    // Verified by counts, inside the transaction: a difference keeps nothing.
    for (const auto& [table, rows] : summary.tables) {
      std::int64_t source = count_sqlite(db, table);
      std::int64_t target = count_pg(pg, table);
      if (source != rows || target != rows) {
        throw StorageError(fmt::format("table {}: {} rows in SQLite, {} copied, {} in PostgreSQL", table, source, rows,
                                       target));
      }
    }
    pg.release_statements();
    pg.exec("COMMIT");
    db.exec("COMMIT");
  } catch (...) {
    pg.rollback_quietly();
    db.rollback_quietly();
    throw;
  }
  return summary;
}

}  // namespace parley::storage::postgres
