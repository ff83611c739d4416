#include "media/cache.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>

namespace parley::media {

namespace fs = std::filesystem;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Strictly increasing "use" stamps, so that two uses within one millisecond
// still order (LRU must be exact for the size limit to evict the right file).
std::int64_t use_stamp() {
  static std::atomic<std::int64_t> last{0};
  auto stamp = now_ms() * 1000;
  auto previous = last.load();
  while (true) {
    const auto next = std::max(stamp, previous + 1);
    if (last.compare_exchange_weak(previous, next)) return next;
  }
}

}  // namespace

bool valid_media_id(const std::string& id) {
  return id.size() == 22 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

Cache::Cache(store::Store& store, fs::path folder, std::int64_t limit_bytes)
    : store_(store), folder_(std::move(folder)), limit_(limit_bytes) {
  fs::create_directories(folder_);
  // Leftovers of downloads cut short by a crash.
  for (const auto& entry : fs::directory_iterator(folder_)) {
    if (entry.path().extension() == ".part") fs::remove(entry.path());
  }
}

std::optional<fs::path> Cache::lookup(const std::string& key) {
  if (!store_.media_size(key)) return std::nullopt;
  auto path = path_of(key);
  std::error_code error;
  if (!fs::exists(path, error)) {
    // Removed behind our back (the user cleared the folder): forget it.
    store::Store::Write write(store_);
    store_.media_remove(write, key);
    write.commit();
    return std::nullopt;
  }
  store_.media_touch(key, use_stamp());
  return path;
}

fs::path Cache::temporary(const std::string& key) {
  static std::atomic<int> counter{0};
  return folder_ / (key + "." + std::to_string(counter++) + ".part");
}

fs::path Cache::admit(const std::string& key, const fs::path& temporary) {
  const auto size = static_cast<std::int64_t>(fs::file_size(temporary));
  if (size > limit_) {
    const auto outside = folder_ / (key + ".uncached");
    fs::rename(temporary, outside);
    return outside;
  }
  const auto path = path_of(key);
  fs::rename(temporary, path);
  {
    store::Store::Write write(store_);
    store_.media_put(write, key, size, use_stamp());
    write.commit();
  }
  evict_to(limit_);
  return path;
}

std::int64_t Cache::total_bytes() { return store_.media_total(); }

void Cache::evict_to(std::int64_t limit) {
  auto total = store_.media_total();
  if (total <= limit) return;
  auto entries = store_.media_lru();
  store::Store::Write write(store_);
  for (const auto& [key, size] : entries) {
    if (total <= limit) break;
    std::error_code ignored;
    fs::remove(path_of(key), ignored);
    store_.media_remove(write, key);
    total -= size;
  }
  write.commit();
}

void Cache::clear() { evict_to(-1); }

}  // namespace parley::media
