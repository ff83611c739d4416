// A thin RAII layer over the SQLite C API: a connection that caches its
// prepared statements, and a statement with typed bind and column access.
// Errors throw StorageError; constraint violations throw ConstraintError so
// callers can turn them into domain outcomes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace parley::storage::sqlite {

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConstraintError : public StorageError {
 public:
  using StorageError::StorageError;
};

class Connection;

class Statement {
 public:
  Statement(sqlite3_stmt* stmt, Connection* owner) : stmt_(stmt), owner_(owner) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view bytes);
  // Binds text without copying it: the bytes must stay valid and unchanged
  // until the statement has run (its next reset drops the binding). For
  // the send path, where the message outlives its INSERT.
  Statement& bind_static(int index, std::string_view value);
  Statement& bind_null(int index);
  Statement& bind_optional(int index, const std::optional<std::string>& value);
  Statement& bind_optional_int(int index, const std::optional<std::int64_t>& value);

  // Advances to the next row; false when there are no more.
  bool step();
  // Runs a statement that returns no rows.
  void run();

  std::int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  bool is_null(int column) const;

  // Clears bindings and rewinds, ready for reuse.
  void reset();

 private:
  void check(int rc, std::string_view what) const;
  sqlite3_stmt* stmt_;
  Connection* owner_;
};

class Connection {
 public:
  // Opens (creating if needed) the database file, through the named SQLite
  // VFS (nullptr: the default one; see wal_write_buffer.hpp).
  explicit Connection(const std::filesystem::path& path, const char* vfs = nullptr);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Executes one or more statements with no results (DDL, PRAGMA, BEGIN).
  void exec(std::string_view sql);

  // A cached prepared statement, reset and ready for binding. The reference
  // stays valid for the connection's life; it must not be used by two callers
  // at once (connections are used by one thread at a time). Statements
  // prepared since the last release_statements() are reset by it, so that
  // none keeps a read snapshot open past its transaction.
  Statement& prepare(std::string_view sql);
  void release_statements();

  // Rolls back the open transaction, if any; never throws (for cleanup paths
  // where SQLite may already have rolled back on its own).
  void rollback_quietly() noexcept;

  // A savepoint opened only when needed, inside a transaction: after
  // defer_savepoint(), the first statement that may change the database
  // (sqlite3_stmt_readonly() false) opens it just before it runs, so that
  // nothing is changed outside it. A unit of work that only reads, or
  // fails before it writes, then costs no SAVEPOINT and no RELEASE.
  // release_savepoint() keeps what was done since, rollback_savepoint()
  // undoes it; both end the savepoint (no-ops when it was never opened)
  // and need every statement reset first (release_statements()).
  void defer_savepoint() { savepoint_ = SavepointState::kOwed; }
  void release_savepoint();
  void rollback_savepoint();

  std::int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() { return db_; }

 private:
  friend class Statement;
  enum class SavepointState { kNone, kOwed, kOpen };
  // Called by a statement that may write, before its first step.
  void open_owed_savepoint();

  // Looked up by std::string_view without building a key string: prepare()
  // runs several times per message on the writer's hot path.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> statements_;
  std::vector<Statement*> in_use_;
  SavepointState savepoint_ = SavepointState::kNone;
};

}  // namespace parley::storage::sqlite
