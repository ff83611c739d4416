#include "support/data_probe.hpp"

#include <fstream>
#include <iterator>

#include <sqlite3.h>

namespace parley::test {

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

}  // namespace parley::test
