// `parleyd migrate-to-postgres`: copies a SQLite deployment's database into
// an empty PostgreSQL database (docs/architecture.md "PostgreSQL",
// "Moving to PostgreSQL"). Every row of every table, ids and positions kept,
// in one PostgreSQL transaction: either all of it is there, verified, or
// nothing. Media files stay in the data folder (the blob store), which the
// PostgreSQL nodes share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace parley::storage::postgres {

struct MigrationSummary {
  std::vector<std::pair<std::string, std::int64_t>> tables;  // (table, rows copied), in copy order
  std::int64_t position = 0;                                 // the stream position carried over
};

// Opens the SQLite database `sqlite_path` (migrating it to the newest SQLite
// schema first), creates the PostgreSQL schema at `conninfo` and copies.
// Throws StorageError when the target already holds data, a copy fails, or
// a table's row counts differ afterwards (then nothing is kept).
MigrationSummary migrate_sqlite_to_postgres(const std::filesystem::path& sqlite_path, const std::string& conninfo);

}  // namespace parley::storage::postgres
