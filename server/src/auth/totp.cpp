#include "auth/totp.hpp"

#include <array>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace parley::auth::totp {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string uri_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

std::string base32_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == ' ' || c == '=') continue;
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a';
    } else if (c >= '2' && c <= '7') {
      value = c - '2' + 26;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  if ((buffer & ((1U << bits) - 1)) != 0) return std::nullopt;  // non-zero leftover bits: not canonical
  return out;
}

std::string generate_secret() {
  std::string secret(kSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string hotp(std::string_view secret, std::uint64_t counter, int digits) {
  std::array<unsigned char, 8> message{};
  for (int i = 7; i >= 0; --i, counter >>= 8) message[i] = static_cast<unsigned char>(counter & 0xFF);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), message.data(), message.size(), digest.data(),
       &length);
  // Dynamic truncation (RFC 4226 section 5.3).
  unsigned offset = digest[length - 1] & 0x0F;
  std::uint32_t binary = (static_cast<std::uint32_t>(digest[offset] & 0x7F) << 24) |
                         (static_cast<std::uint32_t>(digest[offset + 1]) << 16) |
                         (static_cast<std::uint32_t>(digest[offset + 2]) << 8) | digest[offset + 3];
  std::uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  return fmt::format("{:0{}}", binary % modulus, digits);
}

std::string code_at_step(std::string_view secret, std::int64_t step, int digits) {
  return hotp(secret, static_cast<std::uint64_t>(step), digits);
}

std::optional<std::int64_t> verify(std::string_view secret, std::string_view code, std::int64_t now_step,
                                   std::int64_t last_used_step) {
  if (code.size() != static_cast<std::size_t>(kDigits)) return std::nullopt;
  std::optional<std::int64_t> matched;
  // Every candidate is computed and compared, so timing says nothing about
  // which one matched.
  for (std::int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    std::string expected = code_at_step(secret, step);
    bool equal = sodium_memcmp(expected.data(), code.data(), expected.size()) == 0;
    if (equal && step > last_used_step && !matched) matched = step;
  }
  return matched;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret) {
  return fmt::format("otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
                     uri_escape(issuer), uri_escape(account), base32_encode(secret), uri_escape(issuer), kDigits,
                     kStepSeconds);
}

}  // namespace parley::auth::totp
