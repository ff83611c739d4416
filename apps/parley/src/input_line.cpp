#include "input_line.hpp"

#include "text.hpp"

namespace parley::cli {

void InputLine::insert(wchar_t c) {
  if (text_.size() >= max_chars) return;
  if (c < 0x20 || c == 0x7F) return;  // control characters never enter a message
  text_.insert(text_.begin() + static_cast<std::ptrdiff_t>(cursor_), c);
  ++cursor_;
}

void InputLine::set_text(const std::wstring& text) {
  text_ = text.substr(0, max_chars);
  cursor_ = text_.size();
}

std::optional<std::string> InputLine::key(Key k) {
  switch (k) {
    case Key::enter: {
      std::string line = narrow(text_);
      if (!text_.empty() && (history_.empty() || history_.back() != text_)) {
        history_.push_back(text_);
        if (history_.size() > max_history) history_.erase(history_.begin());
      }
      history_pos_ = history_.size();
      draft_.clear();
      text_.clear();
      cursor_ = 0;
      return line;
    }
    case Key::backspace:
      if (cursor_ > 0) text_.erase(--cursor_, 1);
      break;
    case Key::del:
      if (cursor_ < text_.size()) text_.erase(cursor_, 1);
      break;
    case Key::left:
      if (cursor_ > 0) --cursor_;
      break;
    case Key::right:
      if (cursor_ < text_.size()) ++cursor_;
      break;
    case Key::home:
      cursor_ = 0;
      break;
    case Key::end:
      cursor_ = text_.size();
      break;
    case Key::kill_line:
      text_.erase(0, cursor_);
      cursor_ = 0;
      break;
    case Key::kill_to_end:
      text_.erase(cursor_);
      break;
    case Key::kill_word: {
      std::size_t start = cursor_;
      while (start > 0 && text_[start - 1] == L' ') --start;
      while (start > 0 && text_[start - 1] != L' ') --start;
      text_.erase(start, cursor_ - start);
      cursor_ = start;
      break;
    }
    case Key::up:
      if (history_pos_ > 0) {
        if (history_pos_ == history_.size()) draft_ = text_;
        set_text(history_[--history_pos_]);
      }
      break;
    case Key::down:
      if (history_pos_ < history_.size()) {
        ++history_pos_;
        set_text(history_pos_ == history_.size() ? draft_ : history_[history_pos_]);
      }
      break;
  }
  return std::nullopt;
}

InputLine::Visible InputLine::visible(int width) const {
  if (width < 2) width = 2;
  // Scroll so that the cursor sits within the field, keeping one column
  // free at the end for it.
  std::size_t start = 0;
  int before = text_width(std::wstring_view(text_).substr(0, cursor_));
  while (before > width - 1 && start < cursor_) {
    before -= char_width(text_[start]);
    ++start;
  }
  Visible v;
  int used = 0;
  for (std::size_t i = start; i < text_.size(); ++i) {
    int w = char_width(text_[i]);
    if (used + w > width) break;
    v.text.push_back(text_[i]);
    used += w;
  }
  v.cursor_column = before;
  return v;
}

}  // namespace parley::cli
