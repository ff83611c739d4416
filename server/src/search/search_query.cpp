#include "search/search_query.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "core/error.hpp"

namespace parley::search {
namespace {

[[noreturn]] void fail(const std::string& why) { throw ApiError(ErrorCode::kValidationFailed, "q: " + why); }

// A term is worth searching when it holds something unicode61 keeps as a
// token character: an ASCII letter or digit, or any non-ASCII character.
bool searchable(std::string_view term) {
  for (unsigned char c : term) {
    if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  }
  return false;
}

// Greek accented vowels and their bases: unicode61 leaves them as they are,
// migration 0008 folds them in the index with the same table.
constexpr std::pair<std::string_view, std::string_view> kGreekFolds[] = {
    {"ά", "α"}, {"έ", "ε"}, {"ή", "η"}, {"ί", "ι"}, {"ό", "ο"}, {"ύ", "υ"}, {"ώ", "ω"},
    {"ΐ", "ι"}, {"ΰ", "υ"}, {"ϊ", "ι"}, {"ϋ", "υ"}, {"Ά", "Α"}, {"Έ", "Ε"}, {"Ή", "Η"},
    {"Ί", "Ι"}, {"Ό", "Ο"}, {"Ύ", "Υ"}, {"Ώ", "Ω"}, {"Ϊ", "Ι"}, {"Ϋ", "Υ"}};

std::string fold_greek(std::string_view term) {
  std::string out(term);
  for (auto [from, to] : kGreekFolds) {
    for (auto at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
      out.replace(at, from.size(), to);
    }
  }
  return out;
}

// One FTS5 string: double quotes inside are doubled, so nothing in it is
// syntax.
std::string quoted(std::string_view raw) {
  std::string term = fold_greek(raw);
  std::string out = "\"";
  for (char c : term) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  out.push_back('"');
  return out;
}

UnixMillis day_start(std::string_view value, std::string_view op) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (value.size() != 10 || value[4] != '-' || value[7] != '-' ||
      std::sscanf(std::string(value).c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) {
    fail(fmt::format("{}: a date YYYY-MM-DD", op));
  }
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok() || y < 1970 || y > 9999) fail(fmt::format("{}: not a valid date", op));
  auto days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return static_cast<UnixMillis>(days) * 86'400'000;
}

}  // namespace

ParsedQuery parse_query(std::string_view text) {
  if (text.size() > kMaxQueryBytes) fail(fmt::format("at most {} bytes", kMaxQueryBytes));
  ParsedQuery parsed;
  std::vector<std::string> terms;
  std::size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    if (text[i] == '"') {
      // A phrase: up to the closing quote, or the end (an unbalanced quote
      // closes itself).
      std::size_t end = text.find('"', i + 1);
      std::string_view phrase =
          text.substr(i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1);
      i = end == std::string_view::npos ? text.size() : end + 1;
      if (searchable(phrase)) terms.push_back(quoted(phrase));
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && !is_space(text[end])) ++end;
    std::string_view word = text.substr(i, end - i);
    i = end;
    if (auto colon = word.find(':'); colon != std::string_view::npos && colon > 0) {
      std::string_view key = word.substr(0, colon);
      std::string_view value = word.substr(colon + 1);
      if (key == "from") {
        if (value.empty()) fail("from: a username");
        parsed.from = std::string(value.front() == '@' ? value.substr(1) : value);
        continue;
      }
      if (key == "in") {
        if (value.empty()) fail("in: a conversation id or group name");
        parsed.in = std::string(value);
        continue;
      }
      if (key == "has") {
        if (value == "file") {
          parsed.has_file = true;
        } else if (value == "image") {
          parsed.has_image = true;
        } else {
          fail("has: file or image");
        }
        continue;
      }
      if (key == "mentions") {
        if (value != "me") fail("mentions: only me");
        parsed.mentions_me = true;
        continue;
      }
      if (key == "before") {
        parsed.before = day_start(value, "before");
        continue;
      }
      if (key == "after") {
        parsed.not_before = day_start(value, "after") + 86'400'000;
        continue;
      }
      // Anything else with a colon (an FTS5 column filter, a URL) is text.
    }
    bool prefix = word.size() > 1 && word.back() == '*';
    std::string_view core = prefix ? word.substr(0, word.size() - 1) : word;
    while (!core.empty() && core.back() == '*') core.remove_suffix(1);
    if (!searchable(core)) continue;
    terms.push_back(quoted(core) + (prefix ? " *" : ""));
  }
  if (terms.size() > kMaxTerms) fail(fmt::format("at most {} terms", kMaxTerms));
  bool filtered = parsed.from || parsed.in || parsed.has_file || parsed.has_image || parsed.mentions_me ||
                  parsed.before || parsed.not_before;
  if (terms.empty() && !filtered) fail("nothing to search for (give words, a phrase or an operator)");
  for (const auto& term : terms) {
    if (!parsed.match.empty()) parsed.match += ' ';
    parsed.match += term;
  }
  return parsed;
}

}  // namespace parley::search
