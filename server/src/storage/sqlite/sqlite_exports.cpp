// SqliteTransaction's export methods: storage/sql/export_methods.inc, shared by both backends.
#include <stdexcept>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/sqlite_transaction.hpp"

namespace parley::storage::sqlite {

using BackendTransaction = SqliteTransaction;

#include "storage/sql/export_methods.inc"

}  // namespace parley::storage::sqlite
