#include "auth/device_token.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <sodium.h>

namespace parley::auth {
namespace {

constexpr std::size_t kIdBytes = 16;
constexpr std::size_t kMacBytes = crypto_auth_hmacsha256_BYTES;
constexpr std::size_t kTokenBytes = kIdBytes + kMacBytes;

std::array<unsigned char, kMacBytes> mac(const std::array<unsigned char, DeviceTokens::kKeyBytes>& key,
                                         std::int64_t user_id, const unsigned char* device_id) {
  // Domain-separated, so this key's MACs mean nothing anywhere else.
  static constexpr std::string_view kContext = "parley device token v1";
  std::array<unsigned char, 8> user{};
  for (int i = 0; i < 8; ++i) user[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(user_id) >> (56 - 8 * i));
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kContext.data()), kContext.size());
  crypto_auth_hmacsha256_update(&state, user.data(), user.size());
  crypto_auth_hmacsha256_update(&state, device_id, kIdBytes);
  std::array<unsigned char, kMacBytes> out{};
  crypto_auth_hmacsha256_final(&state, out.data());
  return out;
}

std::runtime_error file_error(const std::filesystem::path& path, std::string_view what) {
  return std::runtime_error(fmt::format("device token key {}: {}: {}", path.string(), what, std::strerror(errno)));
}

}  // namespace

DeviceTokens DeviceTokens::load_or_create(const std::filesystem::path& key_file) {
  std::array<unsigned char, kKeyBytes> key{};
  int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    randombytes_buf(key.data(), key.size());
    bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw file_error(key_file, "cannot write");
    return DeviceTokens(key);
  }
  if (errno != EEXIST) throw file_error(key_file, "cannot create");
  fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw file_error(key_file, "cannot open");
  std::array<unsigned char, kKeyBytes + 1> buffer{};
  ssize_t n = ::read(fd, buffer.data(), buffer.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeyBytes)) {
    throw std::runtime_error(fmt::format("device token key {}: not a {}-byte key", key_file.string(), kKeyBytes));
  }
  std::copy_n(buffer.begin(), kKeyBytes, key.begin());
  return DeviceTokens(key);
}

std::string DeviceTokens::issue(std::int64_t user_id) const {
  std::array<unsigned char, kTokenBytes> token{};
  randombytes_buf(token.data(), kIdBytes);
  auto tag = mac(key_, user_id, token.data());
  std::copy(tag.begin(), tag.end(), token.begin() + kIdBytes);
  std::string encoded(sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), token.data(), token.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  encoded.resize(encoded.size() - 1);  // the terminating NUL
  return encoded;
}

std::optional<std::string> DeviceTokens::verify(std::string_view token, std::int64_t user_id) const {
  std::array<unsigned char, kTokenBytes> bytes{};
  std::size_t length = 0;
  if (token.size() > 2 * kTokenBytes ||
      sodium_base642bin(bytes.data(), bytes.size(), token.data(), token.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      length != kTokenBytes) {
    return std::nullopt;
  }
  auto expected = mac(key_, user_id, bytes.data());
  if (sodium_memcmp(expected.data(), bytes.data() + kIdBytes, kMacBytes) != 0) return std::nullopt;
  std::string id(2 * kIdBytes + 1, '\0');
  sodium_bin2hex(id.data(), id.size(), bytes.data(), kIdBytes);
  id.pop_back();
  return id;
}

}  // namespace parley::auth
