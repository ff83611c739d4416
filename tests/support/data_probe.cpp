#include "support/data_probe.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include <sqlite3.h>

#include "support/pg_database.hpp"

namespace parley::test {
namespace {

// The PostgreSQL variant: every column of every table of the folder's test
// database (named in its file pg-database), as text. PostgreSQL's files are
// not in the data folder; what a deleted row leaves in them until VACUUM is
// PostgreSQL's to reclaim (docs/architecture.md "PostgreSQL").
void find_in_postgres(const std::string& database, const std::string& needle, std::vector<std::string>& found) {
  std::string listing;
  try {
    listing = test_query(database,
                         "SELECT string_agg(table_name || '.' || column_name, ',') FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND table_name IN (SELECT table_name FROM "
                         "information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')");
  } catch (const std::exception& e) {
    found.push_back(std::string("cannot list the columns: ") + e.what());
    return;
  }
  if (listing.empty()) found.push_back("no tables in database " + database);
  std::string escaped;
  for (char c : needle) {
    escaped += c;
    if (c == '\'') escaped += c;
  }
  std::size_t start = 0;
  while (start < listing.size()) {
    auto end = listing.find(',', start);
    if (end == std::string::npos) end = listing.size();
    std::string entry = listing.substr(start, end - start);
    start = end + 1;
    auto dot = entry.find('.');
    std::string table = entry.substr(0, dot);
    std::string column = entry.substr(dot + 1);
    try {
      auto count = test_query(database, "SELECT count(*) FROM \"" + table + "\" WHERE strpos(\"" + column +
                                            "\"::text, '" + escaped + "') > 0");
      if (count != "0") found.push_back(entry);
    } catch (const std::exception& e) {
      found.push_back("bad query on " + entry + ": " + e.what());
    }
  }
}

}  // namespace

std::vector<std::string> find_in_data(const std::filesystem::path& data_dir, const std::string& needle) {
  std::vector<std::string> found;
  std::filesystem::path db_path;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir)) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().filename() == "parley.db") db_path = entry.path();
    std::ifstream file(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back("bytes of " + entry.path().string());
  }
  if (std::ifstream name_file(data_dir / "pg-database"); name_file) {
    std::string database((std::istreambuf_iterator<char>(name_file)), std::istreambuf_iterator<char>());
    find_in_postgres(database, needle, found);
    return found;
  }
  if (db_path.empty()) {
    found.push_back("no database file in " + data_dir.string());
    return found;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    found.push_back(std::string("cannot open the database: ") + sqlite3_errmsg(db));
    sqlite3_close(db);
    return found;
  }
  auto rows = [&](const std::string& sql, auto&& each) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      found.push_back("bad query " + sql + ": " + sqlite3_errmsg(db));
      return;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) each(stmt);
    sqlite3_finalize(stmt);
  };
  auto text = [](sqlite3_stmt* stmt, int column) {
    const auto* p = sqlite3_column_text(stmt, column);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  };
  std::vector<std::string> tables;
  rows("SELECT name FROM sqlite_master WHERE type = 'table'", [&](sqlite3_stmt* s) { tables.push_back(text(s, 0)); });
  if (tables.empty()) found.push_back("no tables in " + db_path.string());
  for (const auto& table : tables) {
    std::vector<std::string> columns;
    rows("SELECT name FROM pragma_table_info('" + table + "')",
         [&](sqlite3_stmt* s) { columns.push_back(text(s, 0)); });
    for (const auto& column : columns) {
      rows("SELECT COUNT(*) FROM \"" + table + "\" WHERE instr(CAST(\"" + column + "\" AS TEXT), '" + needle + "') > 0",
           [&](sqlite3_stmt* s) {
             if (sqlite3_column_int64(s, 0) > 0) found.push_back(table + "." + column);
           });
    }
  }
  sqlite3_close(db);
  return found;
}

std::vector<std::string> query_data(const std::filesystem::path& data_dir, const std::string& sql) {
  std::vector<std::string> rows;
  if (std::ifstream name_file(data_dir / "pg-database"); name_file) {
    std::string database((std::istreambuf_iterator<char>(name_file)), std::istreambuf_iterator<char>());
    // One row per line: the values are ids and counts.
    std::string joined = test_query(database, "SELECT string_agg(v::text, E'\\n') FROM (" + sql + ") AS q(v)");
    std::size_t start = 0;
    while (!joined.empty() && start <= joined.size()) {
      auto end = joined.find('\n', start);
      if (end == std::string::npos) end = joined.size();
      rows.push_back(joined.substr(start, end - start));
      start = end + 1;
    }
    return rows;
  }
  sqlite3* db = nullptr;
  auto path = data_dir / "data" / "parley.db";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path.string() + ": " + message);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(sql + ": " + message);
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* p = sqlite3_column_text(stmt, 0);
    rows.emplace_back(p ? reinterpret_cast<const char*>(p) : "");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

}  // namespace parley::test
