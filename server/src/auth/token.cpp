#include "auth/token.hpp"

#include <array>

#include <sodium.h>

#include "core/random_id.hpp"

namespace parley::auth {

std::string generate_token() { return random_base64url(32); }

std::string hash_token(std::string_view token) {
  std::string digest(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(digest.data()),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return digest;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  // The scheme name is case-insensitive (RFC 9110, section 11.1).
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  return authorization.substr(kScheme.size());
}

}  // namespace parley::auth
