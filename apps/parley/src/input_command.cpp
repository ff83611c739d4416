#include "input_command.hpp"

#include <cctype>
#include <charconv>
#include <string_view>

namespace parley::cli {
namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

// Splits off the first space-separated word; `rest` keeps its inner spaces.
std::string_view next_word(std::string_view& rest) {
  rest = trim(rest);
  std::size_t sp = rest.find(' ');
  std::string_view word = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp + 1));
  return word;
}

bool parse_number(std::string_view word, std::int64_t& out) {
  if (!word.empty() && word.front() == '#') word.remove_prefix(1);
  if (word.empty()) return false;
  auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
  return ec == std::errc{} && ptr == word.data() + word.size() && out > 0;
}

}  // namespace

std::string prefix_query(const std::string& query) {
  if (query.find_first_of("\"*()^:") != std::string::npos) return query;
  std::string out;
  std::string_view rest(query);
  while (!rest.empty()) {
    std::string_view word = next_word(rest);
    if (word.empty()) break;
    if (word == "AND" || word == "OR" || word == "NOT" || word == "NEAR") return query;
    // Only letters and digits are safe to star: punctuation would be an
    // FTS5 syntax error, so such a word is quoted instead.
    bool plain = true;
    for (char c : word) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80)) plain = false;
    }
    if (!out.empty()) out += ' ';
    out += plain ? std::string(word) + "*" : "\"" + std::string(word) + "\"";
  }
  return out;
}

const char* input_help() {
  return "/edit N TEXT  /reply N TEXT  /react N EMOJI  /delete N  /file PATH  /download N [DIR]  /invite USER  "
         "/accept USER  /decline USER  /open NAME  /group NAME USER...  /search TEXT  /mute [H]  /unmute  "
         "/sticker ID  /quit   "
         "Tab/S-Tab: conversation  PgUp/PgDn: scroll";
}

InputCommand parse_input(const std::string& line) {
  if (blank(line)) return Nothing{};
  if (line.front() != '/') return SendText{line};
  if (line.size() >= 2 && line[1] == '/') return SendText{line.substr(1)};

  std::string_view rest(line);
  std::string_view name = next_word(rest);
  name.remove_prefix(1);

  auto numbered = [&](auto make, bool needs_text, const char* usage) -> InputCommand {
    std::int64_t number = 0;
    std::string_view word = next_word(rest);
    if (!parse_number(word, number)) return Invalid{std::string("usage: ") + usage};
    if (needs_text && rest.empty()) return Invalid{std::string("usage: ") + usage};
    return make(number, std::string(rest));
  };

  if (name == "edit" || name == "e") {
    return numbered([](std::int64_t n, std::string t) { return EditMessage{n, std::move(t)}; }, true, "/edit N TEXT");
  }
  if (name == "reply" || name == "r") {
    return numbered([](std::int64_t n, std::string t) { return ReplyTo{n, std::move(t)}; }, true, "/reply N TEXT");
  }
  if (name == "react") {
    return numbered(
        [](std::int64_t n, std::string t) -> InputCommand {
          if (t.find(' ') != std::string::npos) return Invalid{"usage: /react N EMOJI (one emoji)"};
          return React{n, std::move(t)};
        },
        true, "/react N EMOJI");
  }
  if (name == "delete") {
    std::int64_t number = 0;
    if (!parse_number(next_word(rest), number) || !rest.empty()) return Invalid{"usage: /delete N"};
    return DeleteMessage{number};
  }
  if (name == "download" || name == "dl") {
    return numbered(
        [](std::int64_t n, std::string t) {
          return Download{n, std::move(t)};
        },
        false, "/download N [DIR]");
  }
  if (name == "file" || name == "f") {
    if (rest.empty()) return Invalid{"usage: /file PATH"};
    std::string path(rest);
    // A leading ~/ is what people type; the shell is not there to expand it.
    if (path.rfind("~/", 0) == 0) {
      if (const char* home = std::getenv("HOME")) path = std::string(home) + path.substr(1);
    }
    return SendFile{path};
  }
  auto one_user = [&](auto make, const char* usage) -> InputCommand {
    std::string_view user = next_word(rest);
    if (user.empty() || !rest.empty()) return Invalid{std::string("usage: ") + usage};
    if (user.front() == '@') user.remove_prefix(1);
    if (user.empty()) return Invalid{std::string("usage: ") + usage};
    return make(std::string(user));
  };
  if (name == "invite") return one_user([](std::string u) { return Invite{std::move(u)}; }, "/invite USER");
  if (name == "accept") return one_user([](std::string u) { return AcceptInvitation{std::move(u)}; }, "/accept USER");
  if (name == "decline") {
    return one_user([](std::string u) { return DeclineInvitation{std::move(u)}; }, "/decline USER");
  }
  if (name == "open" || name == "o") {
    if (rest.empty()) return Invalid{"usage: /open NAME"};
    std::string target(rest);
    if (target.front() == '@') target.erase(0, 1);
    return OpenConversation{target};
  }
  if (name == "group") {
    CreateGroup group;
    group.name = std::string(next_word(rest));
    while (!rest.empty()) {
      std::string_view user = next_word(rest);
      if (!user.empty() && user.front() == '@') user.remove_prefix(1);
      if (!user.empty()) group.members.emplace_back(user);
    }
    if (group.name.empty()) return Invalid{"usage: /group NAME USER..."};
    return group;
  }
  if (name == "search" || name == "s") {
    if (rest.empty()) return Invalid{"usage: /search TEXT"};
    return Search{std::string(rest)};
  }
  if (name == "mute") {
    Mute mute;
    if (!rest.empty() && (!parse_number(next_word(rest), mute.hours) || !rest.empty() || mute.hours > 87600)) {
      return Invalid{"usage: /mute [HOURS]"};
    }
    return mute;
  }
  if (name == "unmute") {
    if (!rest.empty()) return Invalid{"usage: /unmute"};
    return Unmute{};
  }
  if (name == "sticker") {
    SendSticker sticker;
    if (!parse_number(next_word(rest), sticker.id) || !rest.empty()) return Invalid{"usage: /sticker ID"};
    return sticker;
  }
  if (name == "help" || name == "h" || name == "?") return Help{};
  if (name == "quit" || name == "q" || name == "exit") return Quit{};
  return Invalid{"unknown command /" + std::string(name) +
                 " (/help lists them; //text sends a message starting with /)"};
}

}  // namespace parley::cli
