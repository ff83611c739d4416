// PgTransaction's export methods: storage/sql/export_methods.inc, shared by both backends.
#include <stdexcept>

#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {

using BackendTransaction = PgTransaction;

#include "storage/sql/export_methods.inc"

}  // namespace parley::storage::postgres
