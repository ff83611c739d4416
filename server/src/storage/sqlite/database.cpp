#include "storage/sqlite/database.hpp"

#include <sqlite3.h>

#include <mutex>

#include <fmt/format.h>

namespace parley::storage::sqlite {
namespace {

[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view what) {
  std::string message = fmt::format("{}: {} ({})", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
  if ((rc & 0xFF) == SQLITE_CONSTRAINT) throw ConstraintError(message);
  throw StorageError(message);
}

// Process-wide settings, before SQLite's first use. Memory statistics off:
// with them on, every allocation SQLite makes takes one global mutex, shared
// by the writer and every reader connection.
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
  });
}

}  // namespace

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::check(int rc, std::string_view what) const {
  if (rc != SQLITE_OK) throw_error(sqlite3_db_handle(stmt_), rc, what);
}

Statement& Statement::bind(int index, std::int64_t value) {
  check(sqlite3_bind_int64(stmt_, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  check(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), "bind");
  return *this;
}

Statement& Statement::bind_static(int index, std::string_view value) {
  check(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8), "bind");
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  check(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT), "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  check(sqlite3_bind_null(stmt_, index), "bind");
  return *this;
}

Statement& Statement::bind_optional_int(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_optional(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

bool Statement::step() {
  if (owner_->savepoint_ == Connection::SavepointState::kOwed && !sqlite3_stmt_readonly(stmt_)) {
    owner_->open_owed_savepoint();
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_error(sqlite3_db_handle(stmt_), rc, sqlite3_sql(stmt_));
}

void Statement::run() {
  while (step()) {
  }
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return data ? std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)) : std::string();
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Connection::Connection(const std::filesystem::path& path, const char* vfs) {
  configure_sqlite_once();
  int rc =
      sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK) {
    std::string message = fmt::format("open {}: {}", path.string(), db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    throw StorageError(message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Connection::~Connection() {
  statements_.clear();  // statements must be finalized before the close
  sqlite3_close(db_);
}

void Connection::exec(std::string_view sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) throw ConstraintError(message);
    throw StorageError(fmt::format("exec: {}", message));
  }
}

Statement& Connection::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc =
        sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) throw_error(db_, rc, fmt::format("prepare '{}'", sql));
    it = statements_.emplace(std::string(sql), std::make_unique<Statement>(stmt, this)).first;
  }
  it->second->reset();
  in_use_.push_back(it->second.get());
  return *it->second;
}

void Connection::release_statements() {
  for (Statement* statement : in_use_) statement->reset();
  in_use_.clear();
}

void Connection::rollback_quietly() noexcept {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Connection::open_owed_savepoint() {
  // SAVEPOINT is itself read-only to sqlite3_stmt_readonly(): no recursion.
  prepare("SAVEPOINT job").run();
  savepoint_ = SavepointState::kOpen;
}

void Connection::release_savepoint() {
  if (savepoint_ == SavepointState::kOpen) prepare("RELEASE job").run();
  savepoint_ = SavepointState::kNone;
}

void Connection::rollback_savepoint() {
  if (savepoint_ == SavepointState::kOpen) {
    prepare("ROLLBACK TO job").run();
    prepare("RELEASE job").run();
  }
  savepoint_ = SavepointState::kNone;
}

std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Connection::changes() const { return sqlite3_changes(db_); }

}  // namespace parley::storage::sqlite
