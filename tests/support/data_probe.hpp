// Looks into a stopped server's data folder, for tests that must prove that
// something is gone from every stored copy (deleted messages, purged files).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace parley::test {

// Where `needle` occurs in `data_dir`: "bytes of FILE" for every file whose
// raw bytes contain it (the database, its WAL, media blobs, anything), and
// "TABLE.COLUMN" for every column of the SQLite database (parley.db,
// wherever it is below `data_dir`) in which a row contains it as text. A
// problem reading the database is reported as an entry too, so that an
// empty result always means "found nowhere". When the folder's server ran on
// PostgreSQL (a file pg-database names its test database), the columns of
// that database's tables instead of parley.db's.
std::vector<std::string> find_in_data(const std::filesystem::path& data_dir, const std::string& needle);

// Runs `sql` (plain SQL both backends read alike) on a stopped server's
// database, SQLite's parley.db or the folder's PostgreSQL test database,
// and returns the first column of each row as text. Throws
// std::runtime_error when the query fails.
std::vector<std::string> query_data(const std::filesystem::path& data_dir, const std::string& sql);

}  // namespace parley::test
