// Encryption at rest of message texts (docs/client.md "Encryption at rest"):
// XChaCha20-Poly1305 (libsodium) with a random nonce per value, the row's
// identity as associated data so that a value cannot be moved to another row.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::store {

class Cipher {
 public:
  explicit Cipher(std::optional<std::array<std::uint8_t, 32>> key);
  ~Cipher();
  Cipher(const Cipher&) = delete;
  Cipher& operator=(const Cipher&) = delete;

  [[nodiscard]] bool enabled() const { return enabled_; }
  // Plain text in, nonce || ciphertext out (or the text itself when disabled).
  [[nodiscard]] std::string seal(std::string_view plain, std::string_view associated) const;
  // The inverse; throws StoreError when the key is wrong or the value was altered.
  [[nodiscard]] std::string open(std::string_view sealed, std::string_view associated) const;

 private:
  bool enabled_ = false;
  std::array<std::uint8_t, 32> key_{};
};

}  // namespace parley::store
