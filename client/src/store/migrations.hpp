// The device store's schema: an append-only list of migrations, applied in
// one transaction each, the version kept in PRAGMA user_version. A store
// written by a newer libparley (a higher version) is refused rather than
// misread.
#pragma once

#include "store/sqlite.hpp"

namespace parley::store {

// Applies what is missing; throws StoreError.
void migrate(Database& db);

// The version this build writes.
int schema_version();

}  // namespace parley::store
