// Sticker packs on disk: a folder with a `pack.toml` manifest and its images.
// The format is described in server/stickers/README.md:
//
//   name  = "parley-default"      # [a-z0-9][a-z0-9-]{0,63}: the pack's id
//   title = "Parley"              # 1..64 characters of printable UTF-8
//   [[sticker]]
//   file  = "happy.png"           # a plain file name in the folder (.png or .webp)
//   emoji = "😀"                  # the one emoji the sticker stands for
//
// load_sticker_pack() validates everything before a pack is imported, since a
// pack may come from anyone an operator trusted a little: unknown keys, path
// escapes, symlinks, non-images, oversized or animated-bomb images all refuse
// the whole pack with a message naming the offending entry.
//
// Thread safety: any thread (it probes images with libvips).
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::media {

// The limits a pack must respect.
inline constexpr std::size_t kMaxStickers = 120;       // per pack
inline constexpr std::size_t kMaxPackTitleChars = 64;  // code points
inline constexpr std::uintmax_t kMaxStickerBytes = 512 * 1024;
inline constexpr std::uint32_t kMaxStickerSide = 1024;  // pixels, each side
inline constexpr std::uintmax_t kMaxManifestBytes = 64 * 1024;

struct StickerItem {
  std::filesystem::path file;  // absolute-or-as-given dir / file name, a regular file
  std::string emoji;
};

struct StickerPack {
  std::string name;
  std::string title;
  std::vector<StickerItem> items;  // in manifest order, at least one
};

// Thrown by load_sticker_pack with a message fit for an operator's terminal.
class StickerPackError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and validates `dir`/pack.toml and every image it lists. Throws
// StickerPackError on the first problem.
[[nodiscard]] StickerPack load_sticker_pack(const std::filesystem::path& dir);

}  // namespace parley::media
