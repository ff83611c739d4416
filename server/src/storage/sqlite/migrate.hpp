// Applies pending migrations to a SQLite database.
#pragma once

#include <vector>

#include "storage/migration.hpp"

namespace parley::storage::sqlite {

class Connection;

// Brings the database from its PRAGMA user_version to the last migration's
// version, in one transaction: either all pending migrations apply or none
// does. Returns the version reached. Throws StorageError when a migration
// fails or the database is newer than the list (a downgrade).
int migrate(Connection& connection, const std::vector<Migration>& migrations);

}  // namespace parley::storage::sqlite
