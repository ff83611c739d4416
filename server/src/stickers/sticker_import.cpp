#include "stickers/sticker_import.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "core/clock.hpp"
#include "core/sha256.hpp"
#include "core/log.hpp"
#include "core/unique_fd.hpp"
#include "media/image.hpp"
#include "media/sticker_pack.hpp"
#include "stickers/default_pack.hpp"
#include "storage/blob_store.hpp"
#include "storage/store.hpp"

namespace parley::stickers {
namespace {

using media::StickerPackError;

[[noreturn]] void fail_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

void write_all(int fd, const char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(what);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

struct StagedImage {
  storage::NewSticker sticker;
  storage::StagedFile file;
};

// Copies one validated image into blob staging and describes it. The file
// is opened again without following symlinks and must still be a regular
// file within the size limit; the copy is probed (not the source), so the
// stored bytes are the checked bytes. Nothing is committed yet: a pack
// refused at its last image leaves no blob behind.
StagedImage stage_image(storage::BlobStore& blobs, const media::StickerItem& item) {
  const std::string where = item.file.filename().string();
  UniqueFd in(::open(item.file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!in) throw StickerPackError(where + ": cannot open: " + std::generic_category().message(errno));
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) fail_errno(where);
  if (!S_ISREG(st.st_mode)) throw StickerPackError(where + ": not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > media::kMaxStickerBytes) {
    throw StickerPackError(where + ": larger than 512 KiB");
  }

  storage::StagedFile staged = blobs.stage();
  Sha256 digest;
  std::array<char, 64 * 1024> buffer{};
  std::int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(where);
    }
    if (n == 0) break;
    total += n;
    // The file grew since it was checked: refuse rather than store more.
    if (static_cast<std::uintmax_t>(total) > media::kMaxStickerBytes) {
      throw StickerPackError(where + ": larger than 512 KiB");
    }
    digest.update(buffer.data(), static_cast<std::size_t>(n));
    write_all(staged.fd(), buffer.data(), static_cast<std::size_t>(n), "staging " + where);
  }
  std::string sha256 = digest.hex_digest();

  media::ImageLimits limits;
  limits.max_pixels = std::uint64_t{media::kMaxStickerSide} * media::kMaxStickerSide;
  limits.max_frames = 200;
  std::error_code error;
  auto info = media::probe_image(staged.path(), limits, error);
  if (error) throw StickerPackError(where + ": " + error.message());
  if (info.format != media::ImageFormat::kPng && info.format != media::ImageFormat::kWebp) {
    throw StickerPackError(where + ": not a PNG or WebP image");
  }
  if (info.width > media::kMaxStickerSide || info.height > media::kMaxStickerSide) {
    throw StickerPackError(where + ": larger than 1024x1024 pixels");
  }

  storage::NewSticker sticker;
  sticker.emoji = item.emoji;
  sticker.sha256 = std::move(sha256);
  sticker.bytes = total;
  sticker.content_type = info.format == media::ImageFormat::kPng ? "image/png" : "image/webp";
  sticker.width = static_cast<int>(info.width);
  sticker.height = static_cast<int>(info.height);
  return {std::move(sticker), std::move(staged)};
}

}  // namespace

ImportResult import_sticker_pack(storage::Store& store, storage::BlobStore& blobs, const std::filesystem::path& dir) {
  media::StickerPack pack = media::load_sticker_pack(dir);
  std::vector<StagedImage> staged;
  staged.reserve(pack.items.size());
  for (const auto& item : pack.items) staged.push_back(stage_image(blobs, item));
  // The database knows each blob before its file is stored: should the
  // process die before the pack is recorded, the blob sweeper deletes the
  // files (storage/store.hpp, note_blob).
  const UnixMillis noted = now_millis();
  store.write_blocking([&](storage::Transaction& tx) {
    for (const auto& image : staged) tx.note_blob(image.sticker.sha256, image.sticker.bytes, noted);
  });
  std::vector<storage::NewSticker> stickers;
  for (auto& image : staged) {
    blobs.commit(std::move(image.file), image.sticker.sha256);
    stickers.push_back(std::move(image.sticker));
  }

  ImportResult result;
  result.stickers = stickers.size();
  result.pack = store.write_blocking([&](storage::Transaction& tx) {
    result.updated = tx.sticker_pack_by_name(pack.name).has_value();
    return tx.install_sticker_pack(pack.name, pack.title, stickers, now_millis());
  });
  // The rows now hold a reference to every image. A blob that was stored
  // already (dedup) but unreferenced could have been deleted by a running
  // server's blob sweeper between commit() and that write (the sweeper's
  // lock is per process, and this may be `parleyd stickers import`): store
  // such an image again.
  for (std::size_t i = 0; i < stickers.size(); ++i) {
    if (blobs.exists(stickers[i].sha256)) continue;
    auto again = stage_image(blobs, pack.items[i]);
    blobs.commit(std::move(again.file), again.sticker.sha256);
  }
  return result;
}

bool install_default_pack(storage::Store& store, storage::BlobStore& blobs, const std::filesystem::path& scratch) {
  bool known =
      store.read([](storage::Transaction& tx) { return tx.sticker_pack_by_name(kDefaultPackName).has_value(); });
  if (known) return false;
  auto files = default_pack_files();
  if (files.empty()) {
    log::get("stickers")->warn("no default sticker pack in this build");
    return false;
  }
  std::filesystem::create_directories(scratch);
  // A scratch folder of an install that crashed midway.
  for (const auto& entry : std::filesystem::directory_iterator(scratch)) {
    if (entry.path().filename().string().starts_with("default-stickers-")) std::filesystem::remove_all(entry.path());
  }
  std::string pattern = (scratch / "default-stickers-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail_errno("mkdtemp " + pattern);
  const std::filesystem::path dir = pattern;
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  for (const auto& file : files) {
    std::ofstream out(dir / std::string(file.name), std::ios::binary);
    out.write(file.bytes.data(), static_cast<std::streamsize>(file.bytes.size()));
    if (!out.flush()) throw std::runtime_error("cannot write " + (dir / std::string(file.name)).string());
  }
  auto result = import_sticker_pack(store, blobs, dir);
  log::get("stickers")->info("default sticker pack installed name={} stickers={}", result.pack.name, result.stickers);
  return true;
}

}  // namespace parley::stickers
