// Device tokens: what a device that logged in successfully gets to prove, on
// later logins, that it is a known device of that account (OWASP's "device
// cookie"). A known device is throttled on its own (auth/login_throttle.hpp),
// so failures from elsewhere never lock it out.
//
// A token is base64url(device_id || MAC(key, user_id || device_id)), with a
// random 128-bit device id and HMAC-SHA-256 under a server key. It is bound to
// one account and needs no storage: the server keeps only the key, in a file
// in the data folder (created at first start, mode 0600), so tokens outlive
// restarts. A token is not a credential: the password is still required; it
// only exempts its device from the account-wide delays.
//
// Thread-safe: immutable once loaded.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth {

class DeviceTokens {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // Reads the key from `key_file`, creating it with a new random key if it
  // does not exist. Throws std::runtime_error if the file cannot be read or
  // created, or holds anything but a key.
  [[nodiscard]] static DeviceTokens load_or_create(const std::filesystem::path& key_file);

  explicit DeviceTokens(const std::array<unsigned char, kKeyBytes>& key) : key_(key) {}

  // A new token for a new device of `user_id` (64 characters).
  [[nodiscard]] std::string issue(std::int64_t user_id) const;

  // The device id (32 hex digits) if `token` was issued for `user_id`;
  // nullopt for anything else, including another account's token.
  [[nodiscard]] std::optional<std::string> verify(std::string_view token, std::int64_t user_id) const;

 private:
  std::array<unsigned char, kKeyBytes> key_;
};

}  // namespace parley::auth
