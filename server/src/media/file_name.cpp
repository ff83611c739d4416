#include "media/file_name.hpp"

#include <vector>

namespace parley::media {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes UTF-8, replacing each invalid sequence by U+FFFD (one per bad byte
// run start, as the WHATWG decoder does closely enough for display).
std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int length = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2, cp = b0 & 0x1F, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3, cp = b0 & 0x0F, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4, cp = b0 & 0x07, min = 0x10000;
    }
    bool ok = length != 0 && i + static_cast<std::size_t>(length) <= s.size();
    for (int k = 1; ok && k < length; ++k) {
      const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((b & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(kReplacement);
      ++i;
      // Skip the continuation bytes of the broken sequence.
      while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(length);
  }
  return out;
}

void encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t encoded_size(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

bool is_removed(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;  // C0, DEL, C1
  if (cp >= 0x202A && cp <= 0x202E) return true;                           // bidi embeddings, overrides
  if (cp >= 0x2066 && cp <= 0x2069) return true;                           // bidi isolates
  switch (cp) {
    case 0x200E:
    case 0x200F:
    case 0x061C:  // bidi marks
    case 0x200B:
    case 0x200C:
    case 0x2060:
    case 0xFEFF:
    case 0x00AD:  // invisible
    case 0x2028:
    case 0x2029:  // line and paragraph separators
      return true;
    default:
      return false;
  }
}

// Rough but sufficient: the code points emoji sequences are built from.
bool is_emoji_like(char32_t cp) {
  return (cp >= 0x1F000 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) || cp == 0xFE0F;
}

bool is_trimmed(char32_t cp) { return cp == '.' || cp == ' ' || cp == '\t' || cp == 0xA0 || cp == 0x3000; }

}  // namespace

std::string sanitize_file_name(std::string_view client_name) {
  std::vector<char32_t> cps = decode(client_name);

  // The directory part goes first, before removals could join two pieces.
  std::size_t start = 0;
  for (std::size_t i = 0; i < cps.size(); ++i) {
    if (cps[i] == '/' || cps[i] == '\\') start = i + 1;
  }

  std::vector<char32_t> kept;
  kept.reserve(cps.size() - start);
  for (std::size_t i = start; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    if (cp == 0x200D) {
      const bool joins_emoji =
          !kept.empty() && is_emoji_like(kept.back()) && i + 1 < cps.size() && is_emoji_like(cps[i + 1]);
      if (joins_emoji) kept.push_back(cp);
      continue;
    }
    if (!is_removed(cp)) kept.push_back(cp);
  }

  std::size_t begin = 0;
  std::size_t end = kept.size();
  while (begin < end && is_trimmed(kept[begin])) ++begin;
  while (end > begin && is_trimmed(kept[end - 1])) --end;
  if (begin == end) return "file";

  // Split off the extension, to keep it when the stem must be cut.
  std::size_t ext_begin = end;
  for (std::size_t i = end; i-- > begin;) {
    if (kept[i] == '.') {
      ext_begin = i;
      break;
    }
  }
  std::size_t ext_bytes = 0;
  for (std::size_t i = ext_begin; i < end; ++i) ext_bytes += encoded_size(kept[i]);
  if (ext_bytes > 17 || ext_begin == begin) ext_begin = end, ext_bytes = 0;  // no usable extension

  std::string out;
  std::size_t stem_budget = kMaxFileNameBytes - ext_bytes;
  std::size_t stem_end = ext_begin;
  std::size_t used = 0;
  for (std::size_t i = begin; i < ext_begin; ++i) {
    const std::size_t n = encoded_size(kept[i]);
    if (used + n > stem_budget) {
      stem_end = i;
      break;
    }
    used += n;
  }
  // A cut may leave the stem ending in dots or spaces: trim again so the
  // result stays a fixed point.
  while (stem_end > begin && is_trimmed(kept[stem_end - 1])) --stem_end;
  for (std::size_t i = begin; i < stem_end; ++i) encode(kept[i], out);
  for (std::size_t i = ext_begin; i < end; ++i) encode(kept[i], out);
  if (out.empty() || out.front() == '.') {
    // Only an extension survived (the stem was cut or trimmed away).
    while (!out.empty() && out.front() == '.') out.erase(out.begin());
    if (out.empty()) return "file";
  }
  return out;
}

std::string content_disposition(std::string_view name, Disposition kind) {
  const std::string safe = sanitize_file_name(name);
  std::string header = kind == Disposition::kInline ? "inline" : "attachment";

  header += "; filename=\"";
  const std::vector<char32_t> cps = decode(safe);
  for (char32_t cp : cps) {
    const bool plain = cp >= 0x20 && cp < 0x7F && cp != '"' && cp != '\\';
    header.push_back(plain ? static_cast<char>(cp) : '_');
  }
  header += "\"; filename*=UTF-8''";

  // RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" /
  // "." / "^" / "_" / "`" / "|" / "~"; everything else is percent-encoded.
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : safe) {
    const bool attr_char = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                           std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (attr_char) {
      header.push_back(static_cast<char>(c));
    } else {
      header.push_back('%');
      header.push_back(kHex[c >> 4]);
      header.push_back(kHex[c & 0x0F]);
    }
  }
  return header;
}

}  // namespace parley::media
