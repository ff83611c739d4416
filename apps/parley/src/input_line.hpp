// The interactive client's input line: a wide-character edit buffer with a
// cursor, readline's common keys, and a history of what was entered. It only
// edits text; the screen draws it and the app acts on what Enter returns.
// Not thread-safe: the UI thread owns it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace parley::cli {

class InputLine {
 public:
  // Keys beyond printable characters, independent of ncurses' codes.
  enum class Key { enter, backspace, del, left, right, home, end, kill_line, kill_to_end, kill_word, up, down };

  // Inserts a printable character at the cursor. Refuses input past
  // max_chars (the server's limit on a message, 4000 code points).
  void insert(wchar_t c);
  // Applies an editing key. Enter returns the line (UTF-8) and clears it;
  // a line that is only spaces is returned too (the caller ignores it).
  std::optional<std::string> key(Key k);

  [[nodiscard]] const std::wstring& text() const { return text_; }
  [[nodiscard]] std::size_t cursor() const { return cursor_; }
  void set_text(const std::wstring& text);

  // The part of the line to draw in a field `width` columns wide so that the
  // cursor stays visible, and the cursor's column within it.
  struct Visible {
    std::wstring text;
    int cursor_column = 0;
  };
  [[nodiscard]] Visible visible(int width) const;

  static constexpr std::size_t max_chars = 4000;
  static constexpr std::size_t max_history = 100;

 private:
  std::wstring text_;
  std::size_t cursor_ = 0;
  std::vector<std::wstring> history_;
  std::size_t history_pos_ = 0;  // == history_.size(): editing a new line
  std::wstring draft_;           // the new line, kept while browsing history
};

}  // namespace parley::cli
