// Schema migrations: an append-only list of versioned SQL scripts per
// backend, embedded at build time from server/migrations/<backend>/.
#pragma once

#include <string_view>
#include <vector>

namespace parley::storage {

struct Migration {
  int version;            // 1, 2, 3, ... without gaps
  std::string_view name;  // file name, for logs
  std::string_view sql;
};

const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

}  // namespace parley::storage
