#include "view.hpp"

#include <ctime>

#include "text.hpp"

namespace parley::cli {

std::string format_time(std::int64_t ms, std::int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::time_t now = static_cast<std::time_t>(now_ms / 1000);
  std::tm local{}, today{};
  localtime_r(&t, &local);
  localtime_r(&now, &today);
  char buf[32];
  bool same_day = local.tm_year == today.tm_year && local.tm_yday == today.tm_yday;
  std::strftime(buf, sizeof buf, same_day ? "%H:%M" : "%b %d %H:%M", &local);
  return buf;
}

std::vector<DialogLine> layout_dialog(const std::vector<MessageRow>& messages, bool more_above, int width,
                                      std::int64_t now_ms) {
  std::vector<DialogLine> lines;
  if (width < 8) width = 8;
  if (more_above) lines.push_back({DialogLine::Kind::more, fit(L"  ↑ older messages: PgUp", width), L""});
  const std::wstring indent = L"    ";
  for (const MessageRow& m : messages) {
    if (m.info) {
      for (auto& l : wrap(sanitize(widen(m.text), true), width - 2)) {
        lines.push_back({DialogLine::Kind::info, L"  " + l, L""});
      }
      continue;
    }
    std::string number = m.pending ? "  …" : (m.failed ? "  !" : std::to_string(m.number));
    while (number.size() < 3) number.insert(number.begin(), ' ');
    std::wstring prefix =
        widen(number + " " + format_time(m.created_at, now_ms) + " ") + sanitize(widen(m.sender), false) + L": ";
    std::wstring body = m.deleted ? L"(deleted)" : sanitize(widen(m.text), true);
    if (m.edited && !m.deleted) body += L" (edited)";
    if (m.pending) body += L" (sending…)";
    // The first line holds the prefix; the rest of the text wraps under it.
    int first_room = width - text_width(prefix);
    std::vector<std::wstring> wrapped;
    if (first_room >= 10) {
      auto first = wrap(body, first_room);
      // Re-wrap what follows the first line at the indented width.
      std::wstring rest;
      if (first.size() > 1) {
        std::size_t consumed = first[0].size();
        rest = body.substr(std::min(body.size(), consumed));
        while (!rest.empty() && (rest.front() == L' ' || rest.front() == L'\n')) rest.erase(rest.begin());
      }
      wrapped.push_back(first.empty() ? L"" : first[0]);
      if (!rest.empty()) {
        for (auto& l : wrap(rest, width - static_cast<int>(indent.size()))) wrapped.push_back(std::move(l));
      }
    } else {
      // Too narrow for text beside the header: the header alone (cut to
      // the pane), the text under it.
      prefix = fit(prefix, width);
      wrapped = wrap(body, width - static_cast<int>(indent.size()));
      for (auto& l : wrapped) l = indent + l;
      wrapped.insert(wrapped.begin(), L"");
    }
    DialogLine::Kind kind = m.own ? DialogLine::Kind::own : DialogLine::Kind::other;
    DialogLine::Kind text_kind = m.deleted   ? DialogLine::Kind::deleted
                                 : m.failed  ? DialogLine::Kind::failed
                                 : m.pending ? DialogLine::Kind::pending
                                             : DialogLine::Kind::body;
    lines.push_back({kind, wrapped[0], prefix});
    lines.back().kind = text_kind == DialogLine::Kind::body ? kind : text_kind;
    for (std::size_t i = 1; i < wrapped.size(); ++i) {
      lines.push_back({text_kind, first_room >= 10 ? indent + wrapped[i] : wrapped[i], L""});
    }
    // Under the text it answers to, so that it cannot be read as part of
    // the message above.
    if (m.reply_to_number != 0) {
      std::wstring reply = L"↳ re " + (m.reply_to_number > 0 ? widen(std::to_string(m.reply_to_number)) + L": " : L"") +
                           sanitize(widen(m.reply_excerpt), false);
      lines.push_back({DialogLine::Kind::reply, indent + fit(reply, width - static_cast<int>(indent.size())), L""});
    }
    for (const std::string& file : m.files) {
      lines.push_back({DialogLine::Kind::file,
                       indent + fit(L"[file] " + sanitize(widen(file), false), width - static_cast<int>(indent.size())),
                       L""});
    }
    if (!m.reactions.empty()) {
      lines.push_back({DialogLine::Kind::reactions,
                       indent + fit(sanitize(widen(m.reactions), false), width - static_cast<int>(indent.size())),
                       L""});
    }
    if (m.failed && !m.error.empty()) {
      lines.push_back(
          {DialogLine::Kind::failed,
           indent + fit(L"not sent: " + sanitize(widen(m.error), false), width - static_cast<int>(indent.size())),
           L""});
    }
  }
  return lines;
}

}  // namespace parley::cli
