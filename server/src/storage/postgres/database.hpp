// A thin RAII layer over libpq: a connection, and a statement with the same
// typed bind and column access as the SQLite backend's (sqlite/database.hpp),
// so that both backends' transactions read alike. Statements are sent with
// PQexecParams: parameters travel apart from the SQL text (no quoting, no
// injection), integers typed int8, blobs as binary bytea. SQL is written with
// SQLite's numbered parameters (?1, ?2, ...), turned into $1, $2, ... once
// per statement text.
//
// Each statement text is also prepared on the server (PQprepare) the first
// time it runs on a connection, once per set of parameter types, and run
// with PQexecPrepared from then on: PostgreSQL parses and plans it once per
// connection instead of at every execution (docs/architecture.md
// "PostgreSQL": parsing and planning were a large part of a send's cost).
//
// Errors throw StorageError; constraint violations (SQLSTATE class 23) throw
// ConstraintError; a lost connection throws ConnectionLost, after which the
// connection is useless (the store opens a new one).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace parley::storage::postgres {

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConstraintError : public StorageError {
 public:
  using StorageError::StorageError;
};

class ConnectionLost : public StorageError {
 public:
  using StorageError::StorageError;
};

class Connection;

class Statement {
 public:
  Statement(Connection& connection, std::string sql) : connection_(connection), sql_(std::move(sql)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view bytes);
  // Copies as bind() does (libpq needs the bytes only while the statement
  // runs); kept so that code shared in form with the SQLite backend reads
  // the same.
  Statement& bind_static(int index, std::string_view value) { return bind(index, value); }
  Statement& bind_null(int index);
  // A value in PostgreSQL's text form whose type the statement names (an
  // array literal for `?1::bigint[]`): sent with no type of its own.
  Statement& bind_untyped(int index, std::string value);
  Statement& bind_optional(int index, const std::optional<std::string>& value);
  Statement& bind_optional_int(int index, const std::optional<std::int64_t>& value);

  // Runs the statement at the first call, then advances to the next row;
  // false when there are no more.
  bool step();
  // Runs a statement and drops any rows.
  void run();

  std::int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  bool is_null(int column) const;

  // Drops the result and the bindings, ready for reuse.
  void reset();

 private:
  void execute();
  // The values as libpq takes them.
  void arguments(std::vector<const char*>& values, std::vector<int>& lengths) const;
  void set(int index, std::optional<std::string> value, unsigned type, int format);

  Connection& connection_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<unsigned> types_;
  std::vector<int> formats_;
  pg_result* result_ = nullptr;
  int row_ = -1;
  // The server-side prepared statements of this text: parameter types and
  // name (usually one; another when a parameter is bound with another type).
  std::vector<std::pair<std::vector<unsigned>, std::string>> prepared_;
  friend class Connection;
};

class Connection {
 public:
  // Connects with a libpq connection string ("host=... dbname=..." or a
  // postgresql:// URL). Throws ConnectionLost when the server cannot be
  // reached.
  explicit Connection(const std::string& conninfo);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Executes one or more statements without parameters (DDL, BEGIN), after
  // any deferred ones, in one round trip.
  void exec(std::string_view sql);

  // Queues a statement without parameters and without rows (a savepoint)
  // to be sent with the next statement, in the same round trip: before a
  // prepared statement in libpq's pipeline mode, before exec()'s text in
  // the same message. Its failure is that next statement's. rollback_quietly()
  // drops what is queued.
  void defer(std::string sql) { deferred_.push_back(Deferred{std::move(sql), {}, {}, {}, {}}); }
  // Queues `statement` (from prepare(), bound, not yet run; its rows, if
  // any, are dropped) the same way, prepared on the server as prepare()'s
  // statements are; `statement` is reset and free again. A write batch's
  // deferred writes (PgStore) go this way, all in the next round trip.
  void defer(Statement& statement);
  // Sends what is deferred, then `last` (one statement without parameters,
  // or nothing when empty), in one pipeline and one round trip; throws the
  // first error.
  void flush(std::string_view last = {});
  // Runs `statements` (from prepare(), bound) after what is deferred, in
  // one pipeline and one round trip; each then steps through its own rows.
  // Throws the first error.
  void run_together(const std::vector<Statement*>& statements);

  // Called before anything is sent (a statement run, exec(), flush()), so
  // that a caller holding writes back can defer() them first: they then
  // reach the server ahead of whatever would read them. Not called again
  // from inside itself.
  void set_before_send(std::function<void()> hook) { before_send_ = std::move(hook); }
  // Deferred statements that failed so far (their error was thrown by the
  // statement or flush that carried them).
  std::uint64_t deferred_failures() const { return deferred_failures_; }
  // Statements run through prepare() whose text does not begin with SELECT
  // (the ones that may change rows; deferred ones are not counted).
  std::uint64_t writes_run() const { return writes_run_; }

  // A statement for `sql` (cached by its text), reset and ready for binding.
  // Valid for the connection's life; one user at a time.
  Statement& prepare(std::string_view sql);
  // Resets the statements prepared since the last call.
  void release_statements();
  // Rolls back the open transaction, if any; never throws.
  void rollback_quietly() noexcept;

  // The id the last INSERT into a table with an identity column took.
  std::int64_t last_insert_rowid();
  // Rows the last statement run through prepare() changed.
  int changes() const { return changes_; }
  // Statements run on this connection so far: equal counts mean nothing
  // was sent in between (what PgTransaction's prefetch relies on).
  std::uint64_t statements_run() const { return statements_run_; }
  // False once the connection broke.
  bool ok() const;
  // True when a statement failed in the open transaction (only a rollback,
  // to a savepoint or whole, can follow).
  bool in_failed_transaction() const;
  pg_conn* handle() { return conn_; }

 private:
  friend class Statement;
  // Throws the error of a failed result (and clears it).
  [[noreturn]] void fail(pg_result* result, std::string_view what);
  // The name of `statement` prepared on the server for its current parameter
  // types, preparing it on first use; nullptr past kMaxPrepared (statements
  // whose text varies from call to call must not fill the server's memory:
  // those past the bound run unprepared).
  const std::string* prepared_name(Statement& statement);
  // A statement queued by defer(): its text, and for one with parameters
  // its values and the name it is prepared under.
  struct Deferred {
    std::string sql;
    std::string name;  // prepared name; empty: sent unprepared
    std::vector<std::optional<std::string>> values;
    std::vector<unsigned> types;
    std::vector<int> formats;
  };
  // Runs the before_send_ hook, once.
  void before_send();
  // Sends the deferred statements and then `statements` in one pipeline,
  // leaving each statement's result in it (`last`, a text without
  // parameters, after them when not empty); throws the first error.
  void run_pipelined(const std::vector<Statement*>& statements, std::string_view last = {});
  std::vector<Deferred> deferred_;
  std::function<void()> before_send_;
  bool in_before_send_ = false;
  std::uint64_t deferred_failures_ = 0;
  std::uint64_t writes_run_ = 0;
  bool broken_ = false;  // the pipeline's protocol went wrong: ok() is false
  static constexpr std::size_t kMaxPrepared = 2000;
  std::size_t prepared_count_ = 0;

  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
  };
  pg_conn* conn_ = nullptr;
  int changes_ = 0;
  std::uint64_t statements_run_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> statements_;
  std::vector<Statement*> in_use_;
};

// SQLite's numbered parameters (?1) as PostgreSQL's ($1), outside quotes.
std::string numbered_parameters(std::string_view sql);

}  // namespace parley::storage::postgres
