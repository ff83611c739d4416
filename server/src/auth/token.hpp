// Session bearer tokens: 256 random bits, sent base64url-encoded, stored only
// as their SHA-256 hash (a leaked database holds no usable token, and a
// lookup by hash leaks nothing through timing about the token itself).
#pragma once

#include <string>
#include <string_view>

namespace parley::auth {

// A new random token (43 characters of base64url without padding).
[[nodiscard]] std::string generate_token();

// The 32-byte SHA-256 of a token, as raw bytes, for storage and lookup.
[[nodiscard]] std::string hash_token(std::string_view token);

// The token in an "Authorization: Bearer <token>" header value, or empty if
// the header is missing or has another scheme.
[[nodiscard]] std::string_view bearer_token(std::string_view authorization);

}  // namespace parley::auth
