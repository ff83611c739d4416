#include "storage/sqlite/migrate.hpp"

#include <fmt/format.h>

#include "core/log.hpp"
#include "storage/sqlite/database.hpp"

namespace parley::storage::sqlite {

int migrate(Connection& connection, const std::vector<Migration>& migrations) {
  auto logger = log::get("storage");
  connection.exec("BEGIN IMMEDIATE");
  try {
    Statement& query = connection.prepare("PRAGMA user_version");
    query.step();
    int current = static_cast<int>(query.int64(0));
    connection.release_statements();
    int latest = migrations.empty() ? 0 : migrations.back().version;
    if (current > latest) {
      throw StorageError(fmt::format(
          "database schema version {} is newer than this parleyd knows ({}); refusing to start", current, latest));
    }
    for (const Migration& migration : migrations) {
      if (migration.version <= current) continue;
      logger->info("applying migration version={} name={}", migration.version, migration.name);
      try {
        connection.exec(migration.sql);
      } catch (const StorageError& e) {
        throw StorageError(fmt::format("migration {} failed: {}", migration.name, e.what()));
      }
    }
    // PRAGMA takes no bound parameters; the value is an integer we control.
    connection.exec(fmt::format("PRAGMA user_version = {}", latest));
    connection.exec("COMMIT");
    return latest;
  } catch (...) {
    connection.rollback_quietly();
    throw;
  }
}

}  // namespace parley::storage::sqlite
