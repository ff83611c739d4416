// Terminal text: UTF-8 to wide characters and back, display widths, and
// wrapping to a column count. The terminal client draws with ncursesw, which
// takes wide characters; everything else in the app (and the engine) is UTF-8.
//
// All functions are pure and thread-safe. Conversions use the C library's
// wide characters, so the process must have called setlocale(LC_ALL, "")
// with a UTF-8 locale; invalid UTF-8 becomes U+FFFD, never an error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace parley::cli {

// Decodes UTF-8 (invalid sequences become U+FFFD).
[[nodiscard]] std::wstring widen(std::string_view utf8);
// Encodes as UTF-8.
[[nodiscard]] std::string narrow(std::wstring_view wide);

// Columns a character takes on a terminal: 0 for combining marks, 2 for wide
// (CJK, most emoji), 1 otherwise. Control characters count 1: they are
// replaced by a visible mark before drawing (see sanitize).
[[nodiscard]] int char_width(wchar_t c);
[[nodiscard]] int text_width(std::wstring_view text);

// Replaces what must never reach the terminal from message text: C0 and C1
// controls and DEL (escape sequences could move the cursor or change the
// terminal's state). Tabs become a space; newlines are kept when
// keep_newlines, else become a space.
[[nodiscard]] std::wstring sanitize(std::wstring_view text, bool keep_newlines);

// Breaks text into lines of at most `width` columns (width >= 1): at
// newlines, at the last space that fits, or inside a word longer than a line.
[[nodiscard]] std::vector<std::wstring> wrap(std::wstring_view text, int width);

// The longest prefix of text that fits in `width` columns, with "…" as its
// last column when it had to be cut.
[[nodiscard]] std::wstring fit(std::wstring_view text, int width);

}  // namespace parley::cli
