#include "media/sticker_pack.hpp"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <set>

#include "media/image.hpp"

namespace parley::media {
namespace {

[[noreturn]] void fail(const std::string& message) { throw StickerPackError(message); }

// Counts code points of valid UTF-8 without control characters; -1 otherwise.
long printable_utf8_chars(std::string_view s) {
  long count = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t length = b0 < 0x80                    ? 1
                         : (b0 >= 0xC2 && b0 <= 0xDF) ? 2
                         : (b0 >= 0xE0 && b0 <= 0xEF) ? 3
                         : (b0 >= 0xF0 && b0 <= 0xF4) ? 4
                                                      : 0;
    if (length == 0 || i + length > s.size()) return -1;
    char32_t cp = length == 1 ? b0 : b0 & (0xFF >> (length + 1));
    for (std::size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (b & 0x3F);
    }
    constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[length] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return -1;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
      return -1;
    }
    ++count;
    i += length;
  }
  return count;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

// A plain file name: no separators, no leading dot, a known image extension.
bool valid_file_name(std::string_view file) {
  if (file.empty() || file.size() > 100 || file.front() == '.' || file.front() == '-') return false;
  for (char c : file) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return file.ends_with(".png") || file.ends_with(".webp");
}

// One emoji, loosely: 1..8 code points (a ZWJ family or a flag), at most 32
// bytes, no ASCII at all (no letters, digits, spaces or punctuation; the
// keycap emoji are the one exception we do not support), valid UTF-8.
bool valid_emoji(std::string_view emoji) {
  if (emoji.empty() || emoji.size() > 32) return false;
  for (char c : emoji) {
    if (static_cast<unsigned char>(c) < 0x80) return false;
  }
  const long chars = printable_utf8_chars(emoji);
  return chars >= 1 && chars <= 8;
}

const std::string* string_of(const toml::node* node) {
  if (node == nullptr) return nullptr;
  if (const auto* value = node->as_string()) return &value->get();
  return nullptr;
}

}  // namespace

StickerPack load_sticker_pack(const std::filesystem::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) fail(dir.string() + ": not a folder");
  const std::filesystem::path manifest = dir / "pack.toml";
  if (::lstat(manifest.c_str(), &st) != 0) fail(manifest.string() + ": missing");
  if (!S_ISREG(st.st_mode)) fail(manifest.string() + ": not a regular file (symlinks are refused)");
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxManifestBytes) fail(manifest.string() + ": larger than 64 KiB");

  toml::table root;
  try {
    root = toml::parse_file(manifest.string());
  } catch (const toml::parse_error& e) {
    fail(manifest.string() + ": " + std::string(e.description()) + " at line " + std::to_string(e.source().begin.line));
  }

  for (const auto& [key, value] : root) {
    if (key != "name" && key != "title" && key != "sticker") fail("pack.toml: unknown key '" + std::string(key) + "'");
  }
  StickerPack pack;
  const std::string* name = string_of(root.get("name"));
  if (name == nullptr || !valid_name(*name)) {
    fail("pack.toml: 'name' must be 1-64 characters of a-z, 0-9 and '-', not starting with '-'");
  }
  pack.name = *name;
  const std::string* title = string_of(root.get("title"));
  const long title_chars = title == nullptr ? -1 : printable_utf8_chars(*title);
  if (title_chars < 1 || static_cast<std::size_t>(title_chars) > kMaxPackTitleChars) {
    fail("pack.toml: 'title' must be 1-64 printable characters");
  }
  pack.title = *title;

  const toml::array* stickers = root.get("sticker") != nullptr ? root.get("sticker")->as_array() : nullptr;
  if (stickers == nullptr || stickers->empty()) fail("pack.toml: no [[sticker]] entries");
  if (stickers->size() > kMaxStickers) fail("pack.toml: more than 120 stickers");

  const ImageLimits limits{.max_pixels = std::uint64_t{kMaxStickerSide} * kMaxStickerSide,
                           .max_frames = 200,
                           .max_total_pixels = 100'000'000};
  std::set<std::string> seen;
  for (std::size_t index = 0; index < stickers->size(); ++index) {
    const std::string where = "pack.toml: sticker " + std::to_string(index + 1);
    const toml::table* entry = (*stickers)[index].as_table();
    if (entry == nullptr) fail(where + ": not a table");
    for (const auto& [key, value] : *entry) {
      if (key != "file" && key != "emoji") fail(where + ": unknown key '" + std::string(key) + "'");
    }
    const std::string* file = string_of(entry->get("file"));
    if (file == nullptr || !valid_file_name(*file)) {
      fail(where + ": 'file' must be a plain file name (A-Z a-z 0-9 . _ -) ending in .png or .webp");
    }
    if (!seen.insert(*file).second) fail(where + ": '" + *file + "' is listed twice");
    const std::string* emoji = string_of(entry->get("emoji"));
    if (emoji == nullptr || !valid_emoji(*emoji)) fail(where + ": 'emoji' must be one emoji");

    const std::filesystem::path path = dir / *file;
    if (::lstat(path.c_str(), &st) != 0) fail(where + ": '" + *file + "' does not exist");
    if (!S_ISREG(st.st_mode)) fail(where + ": '" + *file + "' is not a regular file (symlinks are refused)");
    if (static_cast<std::uintmax_t>(st.st_size) > kMaxStickerBytes) {
      fail(where + ": '" + *file + "' is larger than 512 KiB");
    }
    std::error_code error;
    const ImageInfo info = probe_image(path, limits, error);
    if (error) fail(where + ": '" + *file + "': " + error.message());
    if (info.format != ImageFormat::kPng && info.format != ImageFormat::kWebp) {
      fail(where + ": '" + *file + "' is not a PNG or WebP image");
    }
    if (info.width > kMaxStickerSide || info.height > kMaxStickerSide) {
      fail(where + ": '" + *file + "' is larger than 1024×1024 pixels");
    }
    pack.items.push_back(StickerItem{path, *emoji});
  }
  return pack;
}

}  // namespace parley::media
