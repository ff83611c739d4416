// SHA-256 (OpenSSL's EVP), fed incrementally, as lower-case hex: the names of
// media blobs, and the checksums of backups, sticker packs and exports.
//
// Thread safety: one object per thread; no shared state.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace parley {

class Sha256 {
 public:
  Sha256();  // throws std::runtime_error if OpenSSL has no SHA-256
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The digest of everything fed so far, as 64 hex digits. Call once.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// The digest of `bytes`, as 64 hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace parley
