#include "support/pg_database.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace parley::test {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string run(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + trim(PQerrorMessage(conn.get())));
  }
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(fmt::format("{}: {}", sql, trim(PQresultErrorMessage(result.get()))));
  }
  if (status == PGRES_TUPLES_OK && PQntuples(result.get()) > 0 && PQnfields(result.get()) > 0) {
    return PQgetvalue(result.get(), 0, 0);
  }
  return {};
}

}  // namespace

std::optional<std::string> postgres_cluster() {
  if (const char* file = std::getenv("PARLEY_TEST_POSTGRES_FILE"); file != nullptr && *file != '\0') {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (auto conninfo = trim(text.str()); !conninfo.empty()) return conninfo;
    return std::nullopt;
  }
  if (const char* conninfo = std::getenv("PARLEY_TEST_POSTGRES"); conninfo != nullptr && *conninfo != '\0') {
    return std::string(conninfo);
  }
  return std::nullopt;
}

bool postgres_backend_selected() {
  const char* backend = std::getenv("PARLEY_TEST_BACKEND");
  return backend != nullptr && std::string_view(backend) == "postgres";
}

std::string create_test_database() {
  static std::atomic<int> counter{0};
  std::random_device random;
  std::string name = fmt::format("t{}_{}_{:08x}", getpid(), counter++, random());
  PgTestDatabase::admin_query(fmt::format("CREATE DATABASE {} TEMPLATE parley_template", name));
  return name;
}

void drop_test_database(const std::string& name) noexcept {
  try {
    PgTestDatabase::admin_query(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name));
  } catch (const std::exception&) {
    // The cluster is deleted after the run anyway.
  }
}

std::string test_database_conninfo(const std::string& name) {
  auto cluster = postgres_cluster();
  if (!cluster) throw std::runtime_error("no test PostgreSQL (PARLEY_TEST_POSTGRES_FILE is not set)");
  return fmt::format("{} dbname={}", *cluster, name);
}

std::string test_query(const std::string& database, const std::string& sql) {
  return run(test_database_conninfo(database), sql);
}

PgTestDatabase::PgTestDatabase() : name_(create_test_database()), conninfo_(test_database_conninfo(name_)) {}

PgTestDatabase::~PgTestDatabase() { drop_test_database(name_); }

std::string PgTestDatabase::query(const std::string& sql) const { return run(conninfo_, sql); }

std::string PgTestDatabase::admin_query(const std::string& sql) {
  auto cluster = postgres_cluster();
  if (!cluster) throw std::runtime_error("no test PostgreSQL (PARLEY_TEST_POSTGRES_FILE is not set)");
  return run(*cluster + " dbname=postgres", sql);
}

}  // namespace parley::test
