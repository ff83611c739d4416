// SqliteTransaction's media methods: storage/sql/media_methods.inc, shared by both backends.
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_transaction.hpp"

namespace parley::storage::sqlite {

using BackendTransaction = SqliteTransaction;

#include "storage/sql/media_methods.inc"

}  // namespace parley::storage::sqlite
