// The interactive client's terminal, through ncursesw. Draws a ScreenModel
// and reads keys; knows nothing of the engine. Only the UI thread may use it
// (ncurses is not thread-safe).
//
//   ┌ header: account, server, connection state ──────────────────────┐
//   │ conversations      │ dialog title                                │
//   │ > ● bob        (2) │  12 10:41 bob: hello                        │
//   │   # team           │  13 10:42 alice: hi!                        │
//   │ invitations        │                                             │
//   │   carol /accept    │ bob is typing…                              │
//   ├ in-app notification line (another conversation) ────────────────┤
//   ├ status line (results of commands, progress, errors) ────────────┤
//   └ > input line                                                    ┘
#pragma once

#include <optional>

#include "input_line.hpp"
#include "view.hpp"

namespace parley::cli {

// A key, independent of ncurses' codes.
struct KeyPress {
  enum class Type { character, edit, next_conversation, previous_conversation, page_up, page_down, redraw, escape };
  Type type = Type::character;
  wchar_t character = 0;
  InputLine::Key edit = InputLine::Key::enter;
};

class Screen {
 public:
  Screen();   // takes over the terminal
  ~Screen();  // gives it back
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  // Draws everything. `scroll` is how many lines the dialog is scrolled up
  // from its end; it is clamped to what there is and the clamped value
  // returned (so that the app does not scroll into nothing).
  int draw(const ScreenModel& model, const InputLine& input, int scroll, std::int64_t now_ms);
  // Lines of the dialog pane (for page sizes).
  [[nodiscard]] int dialog_rows() const;
  // True when the last draw showed the top of the loaded history.
  [[nodiscard]] bool at_top() const { return at_top_; }

  // Repaints the whole terminal at the next draw (after ^L, or garbage
  // another program left).
  void force_redraw();
  [[nodiscard]] int columns() const;

  // One key if one is waiting (never blocks); resizes are handled inside.
  std::optional<KeyPress> read_key();

 private:
  bool colors_ = false;
  bool at_top_ = false;
};

}  // namespace parley::cli
