// The default sticker pack's files (server/stickers/default/: pack.toml and
// its images), embedded in the binary at build time by
// cmake/EmbedStickers.cmake, so that parleyd can install the pack at first
// start wherever it runs from.
#pragma once

#include <span>
#include <string_view>

namespace parley::stickers {

// The name in the default pack's pack.toml (a unit test checks they agree):
// at start the pack is installed only if no pack of this name was ever
// installed, so an operator's removal sticks.
inline constexpr std::string_view kDefaultPackName = "parley-default";

struct EmbeddedFile {
  std::string_view name;   // a plain file name
  std::string_view bytes;  // the file's content, static
};

// Every file of the pack, sorted by name. Empty if the folder was missing
// at build time.
[[nodiscard]] std::span<const EmbeddedFile> default_pack_files();

}  // namespace parley::stickers
