// Validation of user-supplied text. Each function throws ApiError
// (kValidationFailed, 422) naming the offending field, or returns the value in
// canonical form.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::validation {

// Usernames are case-insensitive: stored and compared in lower case.
// Returns the lower-cased name; 3 to 32 characters of a-z, 0-9, '_' and '.',
// starting with a letter.
[[nodiscard]] std::string username(std::string_view raw);
// The same rule without the error: nullopt when `raw` cannot be a username
// (for lookups, where such a name is simply not found).
[[nodiscard]] std::optional<std::string> normalized_username(std::string_view raw);

// Passwords: 8 to kMaxPasswordBytes bytes of valid UTF-8. The maximum exists
// only to bound hashing work; argon2id reads every byte, nothing is truncated.
inline constexpr std::size_t kMinPasswordChars = 8;
inline constexpr std::size_t kMaxPasswordBytes = 1024;
void password(std::string_view field, std::string_view value);

// Free text on one line (display names, status texts, device names): valid
// UTF-8 without control characters (C0, DEL or C1), between min_chars and
// max_chars Unicode code points, and not only spaces when min_chars > 0.
void text(std::string_view field, std::string_view value, std::size_t min_chars, std::size_t max_chars);

// True when `value` is well-formed UTF-8 (no overlongs, no surrogates).
[[nodiscard]] bool is_valid_utf8(std::string_view value);

// Number of code points in valid UTF-8.
[[nodiscard]] std::size_t code_points(std::string_view utf8);

}  // namespace parley::validation
