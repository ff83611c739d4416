#include "storage/postgres/database.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace parley::storage::postgres {
namespace {

// Type OIDs (pg_type.h is server-side only).
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kBytea = 17;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string numbered_parameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool quoted = false;
  for (char c : sql) {
    if (c == '\'') quoted = !quoted;
    out += (!quoted && c == '?') ? '$' : c;
  }
  return out;
}

// --- Statement ------------------------------------------------------------

Statement::~Statement() {
  if (result_ != nullptr) PQclear(result_);
}

void Statement::set(int index, std::optional<std::string> value, unsigned type, int format) {
  auto i = static_cast<std::size_t>(index - 1);
  if (values_.size() <= i) {
    // A parameter left unbound (a statement that uses ?10 but not ?3) is
    // sent as a NULL text: PostgreSQL refuses a parameter of unknown type
    // that the statement does not use.
    values_.resize(i + 1);
    types_.resize(i + 1, kText);
    formats_.resize(i + 1, 0);
  }
  values_[i] = std::move(value);
  types_[i] = type;
  formats_[i] = format;
}

Statement& Statement::bind(int index, std::int64_t value) {
  set(index, std::to_string(value), kInt8, 0);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  set(index, std::string(value), kText, 0);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  set(index, std::string(bytes), kBytea, 1);
  return *this;
}

Statement& Statement::bind_null(int index) {
  set(index, std::nullopt, 0, 0);
  return *this;
}

Statement& Statement::bind_untyped(int index, std::string value) {
  set(index, std::move(value), 0, 0);
  return *this;
}

Statement& Statement::bind_optional(int index, const std::optional<std::string>& value) {
  set(index, value, kText, 0);
  return *this;
}

Statement& Statement::bind_optional_int(int index, const std::optional<std::int64_t>& value) {
  set(index, value ? std::optional<std::string>(std::to_string(*value)) : std::nullopt, kInt8, 0);
  return *this;
}

void Statement::arguments(std::vector<const char*>& values, std::vector<int>& lengths) const {
  values.assign(values_.size(), nullptr);
  lengths.assign(values_.size(), 0);
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (values_[i]) {
      values[i] = values_[i]->data();
      lengths[i] = static_cast<int>(values_[i]->size());
    }
  }
}

void Statement::execute() {
  connection_.before_send();
  ++connection_.statements_run_;
  if (sql_.rfind("SELECT", 0) != 0) ++connection_.writes_run_;
  if (!connection_.deferred_.empty()) {
    connection_.run_pipelined({this});
    return;
  }
  std::vector<const char*> values;
  std::vector<int> lengths;
  arguments(values, lengths);
  const std::string* name = connection_.prepared_name(*this);
  pg_result* result = name != nullptr
                          ? PQexecPrepared(connection_.conn_, name->c_str(), static_cast<int>(values_.size()),
                                           values.data(), lengths.data(), formats_.data(), 0)
                          : PQexecParams(connection_.conn_, sql_.c_str(), static_cast<int>(values_.size()),
                                         types_.data(), values.data(), lengths.data(), formats_.data(), 0);
  auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) connection_.fail(result, sql_);
  const char* tuples = PQcmdTuples(result);
  connection_.changes_ = *tuples ? std::atoi(tuples) : 0;
  result_ = result;
  row_ = -1;
}

bool Statement::step() {
  if (result_ == nullptr) execute();
  if (row_ + 1 >= PQntuples(result_)) {
    row_ = PQntuples(result_);
    return false;
  }
  ++row_;
  return true;
}

void Statement::run() {
  if (result_ != nullptr) {
    PQclear(result_);
    result_ = nullptr;
  }
  execute();
}

std::int64_t Statement::int64(int column) const {
  if (PQgetisnull(result_, row_, column)) return 0;
  const char* value = PQgetvalue(result_, row_, column);
  int length = PQgetlength(result_, row_, column);
  // Booleans (comparisons, EXISTS) read as 0 or 1, as SQLite returns them.
  if (length == 1 && value[0] == 't') return 1;
  if (length == 1 && value[0] == 'f') return 0;
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(value, value + length, out);
  if (ec != std::errc() || (end != value + length && *end != '.')) {
    throw StorageError(fmt::format("column {} is not an integer: {}", column, std::string_view(value, length)));
  }
  return out;
}

std::string Statement::text(int column) const {
  if (PQgetisnull(result_, row_, column)) return {};
  const char* value = PQgetvalue(result_, row_, column);
  int length = PQgetlength(result_, row_, column);
  if (PQftype(result_, column) == kBytea && length >= 2 && value[0] == '\\' && value[1] == 'x') {
    // bytea's text form: \x and two hex digits per byte.
    std::string bytes;
    bytes.reserve(static_cast<std::size_t>(length - 2) / 2);
    for (int i = 2; i + 1 < length; i += 2) {
      bytes += static_cast<char>(hex_value(value[i]) * 16 + hex_value(value[i + 1]));
    }
    return bytes;
  }
  return std::string(value, static_cast<std::size_t>(length));
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

bool Statement::is_null(int column) const { return PQgetisnull(result_, row_, column) != 0; }

void Statement::reset() {
  if (result_ != nullptr) {
    PQclear(result_);
    result_ = nullptr;
  }
  values_.clear();
  types_.clear();
  formats_.clear();
  row_ = -1;
}

// --- Connection -----------------------------------------------------------

Connection::Connection(const std::string& conninfo) {
  conn_ = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw ConnectionLost(fmt::format("cannot connect to PostgreSQL: {}", message));
  }
  // Notices (e.g. "extension exists, skipping") are not errors: not printed.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

Connection::~Connection() {
  statements_.clear();
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::in_failed_transaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_INERROR;
}

bool Connection::ok() const { return conn_ != nullptr && !broken_ && PQstatus(conn_) == CONNECTION_OK; }

void Connection::before_send() {
  if (!before_send_ || in_before_send_) return;
  in_before_send_ = true;
  try {
    before_send_();
  } catch (...) {
    in_before_send_ = false;
    throw;
  }
  in_before_send_ = false;
}

void Connection::defer(Statement& statement) {
  Deferred deferred;
  deferred.sql = statement.sql_;
  if (const std::string* name = prepared_name(statement)) deferred.name = *name;
  deferred.values = std::move(statement.values_);
  deferred.types = std::move(statement.types_);
  deferred.formats = std::move(statement.formats_);
  statement.reset();
  deferred_.push_back(std::move(deferred));
}

void Connection::flush(std::string_view last) {
  before_send();
  if (deferred_.empty() && last.empty()) return;
  ++statements_run_;
  run_pipelined({}, last);
}

void Connection::run_together(const std::vector<Statement*>& statements) {
  before_send();
  for (Statement* statement : statements) {
    ++statements_run_;
    if (statement->sql_.rfind("SELECT", 0) != 0) ++writes_run_;
  }
  run_pipelined(statements);
}

void Connection::run_pipelined(const std::vector<Statement*>& statements, std::string_view last) {
  std::vector<Deferred> deferred;
  deferred.swap(deferred_);
  std::string last_text(last);
  // What goes into the pipeline, in order: the deferred statements, the
  // statements, `last`.
  std::size_t queries = deferred.size() + statements.size() + (last.empty() ? 0 : 1);
  // Prepared first: PQprepare waits for its answer, which pipeline mode
  // does not allow.
  std::vector<const std::string*> names;
  names.reserve(statements.size());
  for (Statement* statement : statements) names.push_back(prepared_name(*statement));
  bool sent = PQenterPipelineMode(conn_) == 1;
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (std::size_t i = 0; sent && i < deferred.size(); ++i) {
    const Deferred& d = deferred[i];
    values.assign(d.values.size(), nullptr);
    lengths.assign(d.values.size(), 0);
    for (std::size_t k = 0; k < d.values.size(); ++k) {
      if (d.values[k]) {
        values[k] = d.values[k]->data();
        lengths[k] = static_cast<int>(d.values[k]->size());
      }
    }
    auto params = static_cast<int>(d.values.size());
    sent = (!d.name.empty()
                ? PQsendQueryPrepared(conn_, d.name.c_str(), params, values.data(), lengths.data(), d.formats.data(), 0)
                : PQsendQueryParams(conn_, d.sql.c_str(), params, d.types.data(), values.data(), lengths.data(),
                                    d.formats.data(), 0)) == 1;
  }
  for (std::size_t i = 0; sent && i < statements.size(); ++i) {
    Statement& statement = *statements[i];
    statement.arguments(values, lengths);
    const std::string* name = names[i];
    auto params = static_cast<int>(statement.values_.size());
    sent = (name != nullptr ? PQsendQueryPrepared(conn_, name->c_str(), params, values.data(), lengths.data(),
                                                  statement.formats_.data(), 0)
                            : PQsendQueryParams(conn_, statement.sql_.c_str(), params, statement.types_.data(),
                                                values.data(), lengths.data(), statement.formats_.data(), 0)) == 1;
  }
  if (sent && !last_text.empty()) {
    sent = PQsendQueryParams(conn_, last_text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }
  if (sent) sent = PQpipelineSync(conn_) == 1;
  // The results, query by query (each ends with a null), up to the sync.
  // Past the last query a null means the connection broke. The first error
  // is kept (later queries of the pipeline are then skipped by the server).
  std::vector<pg_result*> mine(statements.size(), nullptr);
  pg_result* error = nullptr;
  std::string error_what;
  bool error_deferred = false;
  std::size_t query = 0;
  bool synced = false;
  while (sent && query <= queries) {
    pg_result* result = PQgetResult(conn_);
    if (result == nullptr) {
      ++query;
      continue;
    }
    auto status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(result);
      synced = true;
      break;
    }
    if (status == PGRES_FATAL_ERROR && error == nullptr) {
      error = result;
      error_deferred = query < deferred.size();
      error_what = query < deferred.size()                       ? deferred[query].sql
                   : query < deferred.size() + statements.size() ? statements[query - deferred.size()]->sql_
                                                                 : last_text;
    } else if (query >= deferred.size() && query < deferred.size() + statements.size() &&
               mine[query - deferred.size()] == nullptr) {
      mine[query - deferred.size()] = result;
    } else {
      PQclear(result);
    }
  }
  if (!synced || PQexitPipelineMode(conn_) != 1) {
    // Not where the protocol should be: the connection is not used again.
    broken_ = true;
    for (pg_result* result : mine) {
      if (result != nullptr) PQclear(result);
    }
    if (error != nullptr) PQclear(error);
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    std::string what = statements.empty() ? last_text : statements.front()->sql_;
    throw ConnectionLost(fmt::format("pipeline failed: {} in: {}", message, what.substr(0, 200)));
  }
  bool complete = error == nullptr;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    pg_result* result = mine[i];
    auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (!complete || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
      // Skipped after an earlier error (PGRES_PIPELINE_ABORTED), or failed.
      if (result != nullptr) PQclear(result);
      complete = false;
      continue;
    }
    const char* tuples = PQcmdTuples(result);
    changes_ = *tuples ? std::atoi(tuples) : 0;
    statements[i]->result_ = result;
    statements[i]->row_ = -1;
  }
  if (error != nullptr) {
    if (error_deferred) ++deferred_failures_;
    fail(error, error_what);
  }
  if (!complete) throw StorageError(fmt::format("pipeline: no result in: {}", error_what.substr(0, 200)));
}

void Connection::fail(pg_result* result, std::string_view what) {
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  if (result) PQclear(result);
  message = fmt::format("{} ({}) in: {}", message, sqlstate, what.substr(0, 200));
  if (PQstatus(conn_) != CONNECTION_OK) throw ConnectionLost(message);
  if (sqlstate.rfind("23", 0) == 0) throw ConstraintError(message);
  // Class 08: connection exception; 57P01..57P03: the server shuts down.
  if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("57P", 0) == 0) throw ConnectionLost(message);
  throw StorageError(message);
}

void Connection::exec(std::string_view sql) {
  before_send();
  bool plain = std::all_of(deferred_.begin(), deferred_.end(),
                           [](const Deferred& d) { return d.name.empty() && d.values.empty(); });
  if (!plain) {
    // Statements with parameters cannot share one simple-query message:
    // a pipeline (where `sql` must be one statement).
    ++statements_run_;
    run_pipelined({}, sql);
    return;
  }
  std::string text;
  for (const auto& deferred : deferred_) {
    text += deferred.sql;
    text += "; ";
  }
  deferred_.clear();
  text += sql;
  ++statements_run_;
  pg_result* result = PQexec(conn_, text.c_str());
  auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) fail(result, sql);
  PQclear(result);
}

const std::string* Connection::prepared_name(Statement& statement) {
  for (const auto& [types, name] : statement.prepared_) {
    if (types == statement.types_) return &name;
  }
  if (prepared_count_ >= kMaxPrepared) return nullptr;
  std::string name = fmt::format("p{}", prepared_count_ + 1);
  pg_result* result = PQprepare(conn_, name.c_str(), statement.sql_.c_str(), static_cast<int>(statement.types_.size()),
                                statement.types_.data());
  if (PQresultStatus(result) != PGRES_COMMAND_OK) fail(result, statement.sql_);
  PQclear(result);
  ++prepared_count_;
  statement.prepared_.emplace_back(statement.types_, std::move(name));
  return &statement.prepared_.back().second;
}

Statement& Connection::prepare(std::string_view sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    found = statements_.emplace(std::string(sql), std::make_unique<Statement>(*this, numbered_parameters(sql))).first;
  }
  Statement& statement = *found->second;
  statement.reset();
  in_use_.push_back(&statement);
  return statement;
}

void Connection::release_statements() {
  for (Statement* statement : in_use_) statement->reset();
  in_use_.clear();
}

void Connection::rollback_quietly() noexcept {
  deferred_.clear();
  if (conn_ == nullptr) return;
  release_statements();
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  PQclear(PQexec(conn_, "ROLLBACK"));
}

std::int64_t Connection::last_insert_rowid() {
  int changes = changes_;
  Statement& query = prepare("SELECT lastval()");
  query.step();
  std::int64_t id = query.int64(0);
  query.reset();
  changes_ = changes;
  return id;
}

}  // namespace parley::storage::postgres
