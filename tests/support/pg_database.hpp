// A fresh PostgreSQL database for one test, on the throwaway cluster that
// scripts/pg-test-server.sh started (the CTest fixture `postgres`), copied
// from its empty `parley_template` (CREATE DATABASE ... TEMPLATE: a file
// copy, milliseconds). Dropped again when the object goes.
#pragma once

#include <optional>
#include <string>

namespace parley::test {

// The cluster's connection string (without a database name): the contents
// of the file named by $PARLEY_TEST_POSTGRES_FILE, or $PARLEY_TEST_POSTGRES;
// nullopt when neither is set (the test runs without PostgreSQL).
std::optional<std::string> postgres_cluster();

// Whether black-box tests should run parleyd on PostgreSQL:
// $PARLEY_TEST_BACKEND is "postgres" (ctest's `postgres` label sets it).
bool postgres_backend_selected();

// Creates a database from the template; returns its name. Throws
// std::runtime_error when no cluster is configured or it cannot be reached.
std::string create_test_database();
// Drops it (ending connections still open); never throws.
void drop_test_database(const std::string& name) noexcept;
// The connection string of a database of the cluster.
std::string test_database_conninfo(const std::string& name);
// Runs SQL on a database of the cluster; the first column of the first row,
// or "" when there is none. Throws std::runtime_error.
std::string test_query(const std::string& database, const std::string& sql);

class PgTestDatabase {
 public:
  // Creates the database; throws std::runtime_error when no cluster is
  // configured or it cannot be reached.
  PgTestDatabase();
  ~PgTestDatabase();  // drops it (connections still open are ended)
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // A libpq connection string for the new database.
  [[nodiscard]] const std::string& conninfo() const { return conninfo_; }
  [[nodiscard]] const std::string& name() const { return name_; }

  // Runs SQL on the database (a short connection of its own); returns the
  // first column of the first row, or "" when there is none.
  std::string query(const std::string& sql) const;
  // Runs SQL on the cluster's `postgres` database (e.g. to end connections).
  static std::string admin_query(const std::string& sql);

 private:
  std::string name_;
  std::string conninfo_;
};

}  // namespace parley::test
