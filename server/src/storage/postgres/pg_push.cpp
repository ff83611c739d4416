// PgTransaction's push methods: storage/sql/push_methods.inc, shared by both backends.
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {

using BackendTransaction = PgTransaction;

#include "storage/sql/push_methods.inc"

}  // namespace parley::storage::postgres
