// Installing sticker packs: `parleyd stickers import DIR` and the default pack
// at first start (docs/architecture.md "Sticker packs").
//
// A pack folder (format: server/stickers/README.md) is validated whole by
// media::load_sticker_pack before anything is stored. Each image is then read
// again without following symlinks, copied into the blob store through
// staging, and probed once more from that copy, so that what is stored is
// exactly what was checked even if the folder changes meanwhile. Only then is
// the pack recorded, in one transaction.
//
// Importing a name that exists updates that pack in place: its title and
// stickers are replaced, users who added it keep it, and the replaced
// stickers stay shown (and served) in the messages that carry them. Importing
// a removed pack's name installs it again.
//
// Thread safety: blocking (disk I/O, libvips, Store::write_blocking): call from
// the main thread before serving, or from the command line, never from an I/O
// thread.
#pragma once

#include <cstddef>
#include <filesystem>

#include "storage/records.hpp"

namespace parley::storage {
class Store;
class BlobStore;
}  // namespace parley::storage

namespace parley::stickers {

struct ImportResult {
  storage::StickerPackRow pack;
  std::size_t stickers = 0;
  bool updated = false;  // a pack of that name existed (installed or removed)
};

// Imports the pack in folder `dir`. Throws media::StickerPackError (a message
// for the operator) for a pack that fails validation; nothing is recorded
// then. Other failures (disk, database) throw std::exception.
ImportResult import_sticker_pack(storage::Store& store, storage::BlobStore& blobs, const std::filesystem::path& dir);

// Installs the embedded default pack unless a pack named kDefaultPackName
// was ever installed (even if since removed). `scratch` is a folder on a
// writable filesystem where the pack's files are written for validation and
// removed afterwards. Returns true when it installed the pack.
bool install_default_pack(storage::Store& store, storage::BlobStore& blobs, const std::filesystem::path& scratch);

}  // namespace parley::stickers
