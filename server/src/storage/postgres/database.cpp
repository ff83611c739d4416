#include "storage/postgres/database.hpp"

#include <libpq-fe.h>

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

Statement& Statement::bind_optional(int index, const std::optional<std::string>& value) {
  set(index, value, kText, 0);
  return *this;
}

Statement& Statement::bind_optional_int(int index, const std::optional<std::int64_t>& value) {
  set(index, value ? std::optional<std::string>(std::to_string(*value)) : std::nullopt, kInt8, 0);
  return *this;
}

void Statement::execute() {
  std::vector<const char*> values(values_.size());
  std::vector<int> lengths(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (values_[i]) {
      values[i] = values_[i]->data();
      lengths[i] = static_cast<int>(values_[i]->size());
    }
  }
  ++connection_.statements_run_;
  const std::string* name = connection_.prepared_name(*this);
  pg_result* result =
      !connection_.deferred_.empty() ? connection_.run_pipelined(*this, name, values.data(), lengths.data())
      : name != nullptr
          ? PQexecPrepared(connection_.conn_, name->c_str(), static_cast<int>(values_.size()), values.data(),
                           lengths.data(), formats_.data(), 0)
          : PQexecParams(connection_.conn_, sql_.c_str(), static_cast<int>(values_.size()), types_.data(),
                         values.data(), lengths.data(), formats_.data(), 0);
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

bool Connection::ok() const { return conn_ != nullptr && !broken_ && PQstatus(conn_) == CONNECTION_OK; }

pg_result* Connection::run_pipelined(Statement& statement, const std::string* name, const char* const* values,
                                     const int* lengths) {
  std::vector<std::string> deferred;
  deferred.swap(deferred_);
  auto params = static_cast<int>(statement.values_.size());
  bool sent = PQenterPipelineMode(conn_) == 1;
  for (std::size_t i = 0; sent && i < deferred.size(); ++i) {
    sent = PQsendQueryParams(conn_, deferred[i].c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }
  if (sent) {
    sent = (name != nullptr ? PQsendQueryPrepared(conn_, name->c_str(), params, values, lengths,
                                                  statement.formats_.data(), 0)
                            : PQsendQueryParams(conn_, statement.sql_.c_str(), params, statement.types_.data(),
                                                values, lengths, statement.formats_.data(), 0)) == 1;
  }
  if (sent) sent = PQpipelineSync(conn_) == 1;
  // The results, query by query (each ends with a null), up to the sync.
  // Past the last query a null means the connection broke.
  pg_result* mine = nullptr;
  pg_result* deferred_error = nullptr;
  std::string deferred_what;
  std::size_t query = 0;
  bool synced = false;
  while (sent && query <= deferred.size() + 1) {
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
    if (query < deferred.size() && status == PGRES_FATAL_ERROR && deferred_error == nullptr) {
      deferred_error = result;
      deferred_what = deferred[query];
    } else if (query == deferred.size() && mine == nullptr) {
      mine = result;
    } else {
      PQclear(result);
    }
  }
  if (!synced || PQexitPipelineMode(conn_) != 1) {
    // Not where the protocol should be: the connection is not used again.
    broken_ = true;
    if (mine != nullptr) PQclear(mine);
    if (deferred_error != nullptr) PQclear(deferred_error);
    std::string message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    throw ConnectionLost(fmt::format("pipeline failed: {} in: {}", message, statement.sql_.substr(0, 200)));
  }
  if (deferred_error != nullptr) {
    if (mine != nullptr) PQclear(mine);
    fail(deferred_error, deferred_what);
  }
  return mine;
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
  std::string text;
  for (const auto& deferred : deferred_) {
    text += deferred;
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
