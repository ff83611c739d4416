#include "core/validation.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"

namespace parley::validation {
namespace {

[[noreturn]] void fail(std::string_view field, std::string_view why) {
  throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: {}", field, why));
}

}  // namespace

bool is_valid_utf8(std::string_view value) {
  const auto* s = reinterpret_cast<const unsigned char*>(value.data());
  std::size_t n = value.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong encodings, UTF-16 surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

std::size_t code_points(std::string_view utf8) {
  std::size_t count = 0;
  for (unsigned char c : utf8) count += (c & 0xC0) != 0x80;
  return count;
}

std::optional<std::string> normalized_username(std::string_view raw) {
  try {
    return username(raw);
  } catch (const ApiError&) {
    return std::nullopt;
  }
}

std::string username(std::string_view raw) {
  if (raw.size() < 3 || raw.size() > 32) fail("username", "must be 3 to 32 characters");
  std::string name;
  name.reserve(raw.size());
  for (char c : raw) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) fail("username", "may contain only letters a-z, digits, '_' and '.'");
    name.push_back(c);
  }
  if (name.front() < 'a' || name.front() > 'z') fail("username", "must start with a letter");
  return name;
}

void password(std::string_view field, std::string_view value) {
  if (!is_valid_utf8(value)) fail(field, "is not valid UTF-8");
  if (value.size() > kMaxPasswordBytes) {
    fail(field, fmt::format("must be at most {} bytes", kMaxPasswordBytes));
  }
  if (code_points(value) < kMinPasswordChars) {
    fail(field, fmt::format("must be at least {} characters", kMinPasswordChars));
  }
}

void text(std::string_view field, std::string_view value, std::size_t min_chars, std::size_t max_chars) {
  if (!is_valid_utf8(value)) fail(field, "is not valid UTF-8");
  bool only_spaces = true;
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    // C0 controls, DEL, and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F:
    // U+009B starts terminal escape sequences, U+0085 breaks lines).
    bool c1 = c == 0xC2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) fail(field, "must not contain control characters");
    if (c != ' ') only_spaces = false;
  }
  std::size_t n = code_points(value);
  if (n < min_chars || n > max_chars) {
    fail(field, fmt::format("must be {} to {} characters", min_chars, max_chars));
  }
  if (min_chars > 0 && only_spaces) fail(field, "must not be blank");
}

}  // namespace parley::validation
