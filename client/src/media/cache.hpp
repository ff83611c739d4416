// The media cache: downloaded files (originals and thumbnails) in one folder,
// indexed in the device store (size, last use), bounded by a byte limit with
// least-recently-used eviction. Files are written to a temporary name and
// renamed into place, so a cached file is always complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "store/store.hpp"

namespace parley::media {

// True for a well-formed media id (22 characters of base64url): ids become
// file names, so nothing else may reach the file system.
bool valid_media_id(const std::string& id);

class Cache {
 public:
  Cache(store::Store& store, std::filesystem::path folder, std::int64_t limit_bytes);

  // The file for `key` if cached (marks it used now).
  std::optional<std::filesystem::path> lookup(const std::string& key);
  // A fresh temporary path in the cache folder to download into.
  std::filesystem::path temporary(const std::string& key);
  // Moves a complete download into the cache under `key`, then evicts least
  // recently used files until the total fits the limit (never the new one,
  // unless it alone is over the limit: then it is not kept at all and the
  // returned path is the temporary file's new name outside the index,
  // `key`.uncached, overwritten by the next such download).
  std::filesystem::path admit(const std::string& key, const std::filesystem::path& temporary);
  std::int64_t total_bytes();
  void evict_to(std::int64_t limit);
  // Removes every file and index entry.
  void clear();

 private:
  std::filesystem::path path_of(const std::string& key) const { return folder_ / key; }

  store::Store& store_;
  std::filesystem::path folder_;
  std::int64_t limit_;
};

}  // namespace parley::media
