#include "media/byte_range.hpp"

#include <charconv>
#include <optional>

namespace parley::media {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only (no sign, no space inside), without overflow.
std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

RangeDecision decide_range(std::string_view range, std::uint64_t size) {
  range = trim(range);
  constexpr std::string_view kUnit = "bytes=";
  if (range.size() < kUnit.size()) return {};
  for (std::size_t i = 0; i < kUnit.size(); ++i) {
    char c = range[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kUnit[i]) return {};
  }
  std::string_view spec = trim(range.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  std::string_view first_text = trim(spec.substr(0, dash));
  std::string_view last_text = trim(spec.substr(dash + 1));

  if (first_text.empty()) {  // a suffix: the last N bytes
    auto suffix = number(last_text);
    if (!suffix) return {};
    if (*suffix == 0 || size == 0) return {RangeDecision::kUnsatisfiable};
    std::uint64_t length = *suffix < size ? *suffix : size;
    return {RangeDecision::kPartial, size - length, length};
  }
  auto first = number(first_text);
  if (!first) return {};
  std::uint64_t last = 0;
  if (last_text.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else {
    auto parsed = number(last_text);
    if (!parsed || *parsed < *first) return {};  // invalid: ignored
    last = *parsed;
  }
  if (*first >= size) return {RangeDecision::kUnsatisfiable};
  if (last >= size) last = size - 1;
  return {RangeDecision::kPartial, *first, last - *first + 1};
}

}  // namespace parley::media
