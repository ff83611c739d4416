#include "screen.hpp"

#include <ncursesw/curses.h>

#include <algorithm>

#include "text.hpp"

namespace parley::cli {
namespace {

enum Pair : short { kHeader = 1, kGood, kWarning, kError, kOwn, kOther, kSelected };

attr_t tone_attr(Tone tone, bool colors) {
  if (!colors) return tone == Tone::normal ? A_NORMAL : A_BOLD;
  switch (tone) {
    case Tone::good:
      return COLOR_PAIR(kGood);
    case Tone::warning:
      return COLOR_PAIR(kWarning) | A_BOLD;
    case Tone::error:
      return COLOR_PAIR(kError) | A_BOLD;
    default:
      return A_NORMAL;
  }
}

// Writes `text` at (y, x), cut to `width` columns, and pads the rest with
// spaces so that no old character survives underneath.
void put(int y, int x, int width, const std::wstring& text, attr_t attr = A_NORMAL) {
  if (width <= 0) return;
  std::wstring shown = fit(text, width);
  attron(attr);
  mvaddnwstr(y, x, shown.c_str(), static_cast<int>(shown.size()));
  int pad = width - text_width(shown);
  for (int i = 0; i < pad; ++i) addch(' ');
  attroff(attr);
}

}  // namespace

Screen::Screen() {
  initscr();
  cbreak();  // keys at once; ^C still signals (the app quits cleanly on it)
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  if (has_colors()) {
    start_color();
    use_default_colors();
    init_pair(kHeader, COLOR_WHITE, COLOR_BLUE);
    init_pair(kGood, COLOR_GREEN, -1);
    init_pair(kWarning, COLOR_YELLOW, -1);
    init_pair(kError, COLOR_RED, -1);
    init_pair(kOwn, COLOR_GREEN, -1);
    init_pair(kOther, COLOR_CYAN, -1);
    init_pair(kSelected, COLOR_BLACK, COLOR_CYAN);
    colors_ = true;
  }
}

Screen::~Screen() { endwin(); }

void Screen::force_redraw() { clearok(stdscr, TRUE); }
int Screen::columns() const { return COLS; }

int Screen::dialog_rows() const { return std::max(LINES - 6, 1); }

int Screen::draw(const ScreenModel& model, const InputLine& input, int scroll, std::int64_t now_ms) {
  erase();
  const int rows = LINES, cols = COLS;
  if (rows < 8 || cols < 30) {
    put(0, 0, cols, L"parley: the window is too small", A_BOLD);
    refresh();
    return scroll;
  }
  // Header.
  attr_t header = colors_ ? COLOR_PAIR(kHeader) | A_BOLD : A_REVERSE;
  put(0, 0, cols, L" " + widen(model.header), header);

  // Contact pane.
  const int left = std::clamp(cols / 4, 18, 32);
  const int top = 1, bottom = rows - 4;  // inclusive rows of the panes
  int y = top;
  put(y++, 0, left, L" Conversations", A_DIM | A_BOLD);
  for (const ConversationRow& c : model.conversations) {
    if (y > bottom) break;
    bool open = c.id != 0 && c.id == model.open_conversation;
    std::wstring mark = open ? L">" : L" ";
    std::wstring presence = c.group ? L"#" : (c.online ? L"●" : L"○");
    std::wstring unread = c.unread > 0 ? L" (" + widen(std::to_string(c.unread)) + L")" : L"";
    std::wstring muted = c.muted ? L" ~" : L"";
    int room = left - 4 - text_width(unread) - text_width(muted);
    std::wstring title = fit(sanitize(widen(c.title), false), std::max(room, 1));
    std::wstring line = mark + presence + L" " + title;
    line +=
        std::wstring(
            static_cast<std::size_t>(std::max(0, left - 1 - text_width(line) - text_width(unread) - text_width(muted))),
            L' ') +
        muted + unread;
    attr_t attr = open ? (colors_ ? COLOR_PAIR(kSelected) : A_REVERSE) : A_NORMAL;
    if (c.id == 0) attr |= A_DIM;  // a contact without a conversation yet
    if (c.unread > 0) attr |= A_BOLD;
    put(y, 0, left - 1, line, attr);
    if (!c.group && colors_ && !open) {
      // The presence dot in colour.
      attron(c.online ? COLOR_PAIR(kGood) : A_DIM);
      mvaddnwstr(y, 1, presence.c_str(), 1);
      attroff(c.online ? COLOR_PAIR(kGood) : A_DIM);
    }
    ++y;
  }
  if (model.conversations.empty() && y <= bottom) put(y++, 0, left - 1, L"  (none yet)", A_DIM);
  if (!model.invitations.empty() && y < bottom) {
    ++y;
    put(y++, 0, left - 1, L" Invitations", A_DIM | A_BOLD);
    for (const std::string& line : model.invitations) {
      if (y > bottom) break;
      put(y++, 0, left - 1, L"  " + sanitize(widen(line), false), tone_attr(Tone::warning, colors_));
    }
  }
  for (int r = top; r <= bottom; ++r) mvaddch(r, left - 1, ACS_VLINE);

  // Dialog pane: title, messages (bottom-aligned, scrolled), typing line.
  const int dx = left + 1, dw = cols - dx;
  put(top, dx, dw, sanitize(widen(model.dialog_title), false), A_BOLD | A_UNDERLINE);
  const int msg_top = top + 1, msg_bottom = bottom - 1;  // the last row is the typing line
  const int height = msg_bottom - msg_top + 1;
  auto lines = layout_dialog(model.messages, model.more_above, dw - 1, now_ms);
  int total = static_cast<int>(lines.size());
  scroll = std::clamp(scroll, 0, std::max(0, total - height));
  int first = std::max(0, total - height - scroll);
  at_top_ = first == 0;
  int row = msg_top + std::max(0, height - (total - first));
  for (int i = first; i < total && row <= msg_bottom; ++i, ++row) {
    const DialogLine& line = lines[static_cast<std::size_t>(i)];
    int x = dx;
    if (!line.prefix.empty()) {
      attr_t pa = colors_ ? COLOR_PAIR(line.kind == DialogLine::Kind::own ? kOwn : kOther) : A_BOLD;
      if (line.kind == DialogLine::Kind::pending || line.kind == DialogLine::Kind::failed) pa = A_DIM;
      put(row, x, std::min(text_width(line.prefix), dw), line.prefix, pa);
      x += text_width(line.prefix);
    }
    attr_t ta = A_NORMAL;
    switch (line.kind) {
      case DialogLine::Kind::pending:
        ta = A_DIM;
        break;
      case DialogLine::Kind::failed:
        ta = tone_attr(Tone::error, colors_);
        break;
      case DialogLine::Kind::deleted:
      case DialogLine::Kind::reply:
      case DialogLine::Kind::more:
        ta = A_DIM;
        break;
      case DialogLine::Kind::file:
        ta = colors_ ? COLOR_PAIR(kOther) : A_UNDERLINE;
        break;
      default:
        break;
    }
    put(row, x, dx + dw - x, line.text, ta);
  }
  if (scroll > 0) put(msg_bottom, cols - 14, 14, L" ↓ more (PgDn)", A_REVERSE);
  put(bottom, dx, dw, sanitize(widen(model.typing), false), A_DIM | A_ITALIC);

  // Notification, status and input lines.
  mvhline(rows - 4 + 0, 0, ' ', 0);
  put(rows - 3, 0, cols, sanitize(widen(model.notice), false),
      model.notice.empty() ? A_NORMAL : (colors_ ? COLOR_PAIR(kWarning) | A_BOLD | A_REVERSE : A_REVERSE));
  put(rows - 2, 0, cols, sanitize(widen(model.status), false), tone_attr(model.status_tone, colors_) | A_DIM);
  auto visible = input.visible(cols - 3);
  put(rows - 1, 0, 2, L"> ", A_BOLD);
  put(rows - 1, 2, cols - 2, visible.text);
  move(rows - 1, 2 + visible.cursor_column);
  refresh();
  return scroll;
}

std::optional<KeyPress> Screen::read_key() {
  while (true) {
    wint_t ch = 0;
    int kind = get_wch(&ch);
    if (kind == ERR) return std::nullopt;
    KeyPress key;
    auto edit = [&](InputLine::Key k) {
      key.type = KeyPress::Type::edit;
      key.edit = k;
      return key;
    };
    if (kind == KEY_CODE_YES) {
      switch (ch) {
        case KEY_RESIZE:
          key.type = KeyPress::Type::redraw;
          return key;
        case KEY_ENTER:
          return edit(InputLine::Key::enter);
        case KEY_BACKSPACE:
          return edit(InputLine::Key::backspace);
        case KEY_DC:
          return edit(InputLine::Key::del);
        case KEY_LEFT:
          return edit(InputLine::Key::left);
        case KEY_RIGHT:
          return edit(InputLine::Key::right);
        case KEY_HOME:
          return edit(InputLine::Key::home);
        case KEY_END:
          return edit(InputLine::Key::end);
        case KEY_UP:
          return edit(InputLine::Key::up);
        case KEY_DOWN:
          return edit(InputLine::Key::down);
        case KEY_PPAGE:
          key.type = KeyPress::Type::page_up;
          return key;
        case KEY_NPAGE:
          key.type = KeyPress::Type::page_down;
          return key;
        case KEY_BTAB:
          key.type = KeyPress::Type::previous_conversation;
          return key;
        default:
          continue;  // keys we do not use
      }
    }
    switch (ch) {
      case L'\r':
      case L'\n':
        return edit(InputLine::Key::enter);
      case 127:
      case 8:
        return edit(InputLine::Key::backspace);
      case 1:
        return edit(InputLine::Key::home);  // ^A
      case 5:
        return edit(InputLine::Key::end);  // ^E
      case 11:
        return edit(InputLine::Key::kill_to_end);  // ^K
      case 21:
        return edit(InputLine::Key::kill_line);  // ^U
      case 23:
        return edit(InputLine::Key::kill_word);  // ^W
      case 2:
        return edit(InputLine::Key::left);  // ^B
      case 6:
        return edit(InputLine::Key::right);  // ^F
      case 16:
        return edit(InputLine::Key::up);  // ^P
      case 14:
        key.type = KeyPress::Type::next_conversation;
        return key;  // ^N
      case 9:
        key.type = KeyPress::Type::next_conversation;
        return key;  // Tab
      case 12:
        key.type = KeyPress::Type::redraw;
        return key;  // ^L
      case 27:
        key.type = KeyPress::Type::escape;
        return key;
      default:
        if (ch < 0x20) continue;
        key.type = KeyPress::Type::character;
        key.character = static_cast<wchar_t>(ch);
        return key;
    }
  }
}

}  // namespace parley::cli
