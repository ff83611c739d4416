#include "text.hpp"

#include <cwchar>

namespace parley::cli {

std::wstring widen(std::string_view utf8) {
  // A hand decoder rather than mbrtowc: it must not depend on the locale for
  // correctness, and must map each invalid byte to U+FFFD and carry on.
  std::wstring out;
  out.reserve(utf8.size());
  const auto* s = reinterpret_cast<const unsigned char*>(utf8.data());
  const std::size_t n = utf8.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    char32_t cp = 0;
    int extra = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      cp = c & 0x07;
      extra = 3;
    } else {
      out.push_back(L'\uFFFD');
      ++i;
      continue;
    }
    bool valid = true;
    for (int k = 1; k <= extra; ++k) {
      if (i + static_cast<std::size_t>(k) >= n || (s[i + k] & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if (valid && ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                  (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))) {
      valid = false;
    }
    if (!valid) {
      out.push_back(L'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(static_cast<wchar_t>(cp));
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

std::string narrow(std::wstring_view wide) {
  std::string out;
  out.reserve(wide.size());
  for (wchar_t wc : wide) {
    auto cp = static_cast<char32_t>(wc);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
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
  return out;
}

int char_width(wchar_t c) {
  if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return 1;
  int w = ::wcwidth(c);
  if (w >= 0) return w;
  // wcwidth knows nothing in a non-UTF-8 locale; a guess beats a broken line.
  auto cp = static_cast<char32_t>(c);
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0x1F300 && cp <= 0x1FAFF)) {
    return 2;
  }
  return 1;
}

int text_width(std::wstring_view text) {
  int w = 0;
  for (wchar_t c : text) w += char_width(c);
  return w;
}

std::wstring sanitize(std::wstring_view text, bool keep_newlines) {
  std::wstring out;
  out.reserve(text.size());
  for (wchar_t c : text) {
    if (c == L'\n') {
      out.push_back(keep_newlines ? L'\n' : L' ');
    } else if (c == L'\t') {
      out.push_back(L' ');
    } else if (c < 0x20 || (c >= 0x7F && c < 0xA0)) {
      out.push_back(L'\uFFFD');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::wstring> wrap(std::wstring_view text, int width) {
  if (width < 1) width = 1;
  std::vector<std::wstring> lines;
  std::size_t start = 0;
  while (true) {
    std::size_t nl = text.find(L'\n', start);
    std::wstring_view para = text.substr(start, nl == std::wstring_view::npos ? std::wstring_view::npos : nl - start);
    // Break one paragraph.
    std::size_t pos = 0;
    if (para.empty()) lines.emplace_back();
    while (pos < para.size()) {
      int used = 0;
      std::size_t end = pos;
      std::size_t last_space = std::wstring_view::npos;
      while (end < para.size()) {
        int w = char_width(para[end]);
        if (used + w > width) break;
        if (para[end] == L' ') last_space = end;
        used += w;
        ++end;
      }
      if (end == para.size()) {
        lines.emplace_back(para.substr(pos));
        break;
      }
      if (end == pos) end = pos + 1;  // one character wider than the line: show it anyway
      if (last_space != std::wstring_view::npos && last_space > pos) {
        lines.emplace_back(para.substr(pos, last_space - pos));
        pos = last_space + 1;
      } else {
        lines.emplace_back(para.substr(pos, end - pos));
        pos = end;
      }
    }
    if (nl == std::wstring_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::wstring fit(std::wstring_view text, int width) {
  if (width <= 0) return {};
  if (text_width(text) <= width) return std::wstring(text);
  std::wstring out;
  int used = 0;
  for (wchar_t c : text) {
    int w = char_width(c);
    if (used + w > width - 1) break;
    out.push_back(c);
    used += w;
  }
  out.push_back(L'\u2026');
  return out;
}

}  // namespace parley::cli
