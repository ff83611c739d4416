#include "http/json_body.hpp"

#include <charconv>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/ijson.hpp"
#include "core/validation.hpp"

namespace parley::http {
namespace {

[[noreturn]] void invalid(std::string_view field, std::string_view why) {
  throw ApiError(ErrorCode::kValidationFailed, fmt::format("{}: {}", field, why));
}

bool is_json_content_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  std::string_view media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "application/json"[i]) return false;
  }
  return true;
}

}  // namespace

JsonBody::JsonBody(const Request& request) {
  if (!is_json_content_type(request.content_type)) {
    throw ApiError(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json");
  }
  boost::json::parse_options options;
  // Invalid UTF-8 is parsed here and rejected per field with 422, so that the
  // client learns which field is wrong.
  options.allow_invalid_utf8 = true;
  options.max_depth = 16;
  object_ = parse_object(request.body, "body", options);
}

boost::json::object parse_object(std::string_view text, std::string_view what,
                                 const boost::json::parse_options& options) {
  auto parsed = ijson::parse(text, options);
  switch (parsed.failure) {
    case ijson::Failure::kNone:
      break;
    case ijson::Failure::kSyntax:
      throw ApiError(ErrorCode::kMalformedRequest,
                     fmt::format("{} is not valid JSON: {}", what, parsed.error.message()));
    case ijson::Failure::kDuplicateKey:
      // Which value would count is ambiguous (parsers differ), so the whole
      // document is refused like one that does not parse.
      throw ApiError(
          ErrorCode::kMalformedRequest,
          fmt::format("{} names the same object member twice (duplicate keys are not allowed, RFC 7493)", what));
  }
  if (!parsed.value.is_object()) {
    throw ApiError(ErrorCode::kValidationFailed, fmt::format("{} must be a JSON object", what));
  }
  return std::move(parsed.value.as_object());
}

const boost::json::value* JsonBody::take(std::string_view field) {
  auto it = object_.find(field);
  if (it == object_.end()) return nullptr;
  auto index = static_cast<std::size_t>(it - object_.begin());
  if (index < 64) {
    seen_mask_ |= std::uint64_t{1} << index;
  } else {
    if (seen_more_.size() <= index - 64) seen_more_.resize(object_.size() - 64);
    seen_more_[index - 64] = true;
  }
  return &it->value();
}

bool JsonBody::was_seen(std::size_t index) const {
  if (index < 64) return ((seen_mask_ >> index) & 1U) != 0;
  return index - 64 < seen_more_.size() && seen_more_[index - 64];
}

std::optional<std::string> JsonBody::optional_string(std::string_view field) {
  const auto* value = take(field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) invalid(field, "must be a string");
  std::string text(value->as_string());
  if (!validation::is_valid_utf8(text)) invalid(field, "is not valid UTF-8");
  return text;
}

std::string JsonBody::required_string(std::string_view field) {
  auto text = optional_string(field);
  if (!text) invalid(field, "is required");
  return *text;
}

std::optional<std::optional<std::string>> JsonBody::nullable_string(std::string_view field) {
  const auto* value = object_.if_contains(field);
  if (value != nullptr && value->is_null()) {
    (void)take(field);
    return std::optional<std::string>{};
  }
  auto text = optional_string(field);
  if (!text) return std::nullopt;
  return std::optional<std::string>(std::move(*text));
}

std::optional<bool> JsonBody::optional_bool(std::string_view field) {
  const auto* value = take(field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) invalid(field, "must be true or false");
  return value->as_bool();
}

std::optional<boost::json::object> JsonBody::optional_object(std::string_view field) {
  const auto* value = take(field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) invalid(field, "must be an object");
  return value->as_object();
}

std::optional<std::int64_t> JsonBody::optional_int(std::string_view field) {
  const auto* value = take(field);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value->as_uint64());
  }
  invalid(field, "must be an integer");
}

std::optional<std::optional<std::int64_t>> JsonBody::nullable_int(std::string_view field) {
  const auto* value = object_.if_contains(field);
  if (value != nullptr && value->is_null()) {
    (void)take(field);
    return std::optional<std::int64_t>{};
  }
  auto number = optional_int(field);
  if (!number) return std::nullopt;
  return std::optional<std::int64_t>(*number);
}

std::optional<std::vector<std::string>> JsonBody::optional_string_array(std::string_view field,
                                                                      std::size_t max_items) {
  const auto* value = take(field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_array()) invalid(field, "must be an array of strings");
  const auto& items = value->as_array();
  if (items.size() > max_items) invalid(field, fmt::format("must have at most {} items", max_items));
  std::vector<std::string> result;
  for (const auto& item : items) {
    if (!item.is_string()) invalid(field, "must be an array of strings");
    std::string text(item.as_string());
    if (!validation::is_valid_utf8(text)) invalid(field, "is not valid UTF-8");
    result.push_back(std::move(text));
  }
  return result;
}

void JsonBody::reject_unknown_fields() const {
  for (std::size_t i = 0; i < object_.size(); ++i) {
    if (was_seen(i)) continue;
    std::string_view key = object_.begin()[i].key();
    // The name is echoed only when it is safe to: valid UTF-8 and short.
    if (key.size() <= 64 && validation::is_valid_utf8(key)) invalid(key, "is not a known field");
    throw ApiError(ErrorCode::kValidationFailed, "body has an unknown field");
  }
}

std::int64_t id_param(const Request& request, std::string_view name) {
  const std::string& text = request.param(name);
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    throw ApiError(ErrorCode::kNotFound, fmt::format("no such {}", name));
  }
  return id;
}

}  // namespace parley::http
