// Reading JSON request bodies with one consistent set of errors:
//   415 when the Content-Type is not application/json,
//   400 when the body is not JSON at all, or is not I-JSON (RFC 7493): an
//       object at any depth names the same member twice,
//   422 when it is JSON but not what the endpoint takes: not an object, a
//       missing or unknown field, a wrong type, invalid UTF-8.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>

#include "http/message.hpp"

namespace parley::http {

class JsonBody {
 public:
  // Parses the request's body. Throws ApiError as described above.
  explicit JsonBody(const Request& request);
  // Reads fields of an object already parsed (e.g. a WebSocket frame).
  explicit JsonBody(boost::json::object object) : object_(std::move(object)) {}
  JsonBody(JsonBody&&) = default;
  JsonBody& operator=(JsonBody&&) = default;

  [[nodiscard]] std::string required_string(std::string_view field);
  [[nodiscard]] std::optional<std::string> optional_string(std::string_view field);
  // For fields where null means "clear": nullopt when absent, an empty inner
  // optional when null.
  [[nodiscard]] std::optional<std::optional<std::string>> nullable_string(std::string_view field);
  [[nodiscard]] std::optional<bool> optional_bool(std::string_view field);
  [[nodiscard]] std::optional<std::int64_t> optional_int(std::string_view field);
  [[nodiscard]] std::optional<std::optional<std::int64_t>> nullable_int(std::string_view field);
  // An array of strings, each valid UTF-8; at most `max_items` items.
  [[nodiscard]] std::optional<std::vector<std::string>> optional_string_array(std::string_view field,
                                                                            std::size_t max_items = 1000);

  // A nested object (read it with JsonBody(object)); 422 when not an object.
  [[nodiscard]] std::optional<boost::json::object> optional_object(std::string_view field);
  // Counts `field` as known whatever its value: a field clients send that
  // the endpoint ignores (e.g. a PushSubscription's expirationTime).
  void ignore(std::string_view field) { (void)take(field); }

  // Throws 422 naming the first field that no accessor asked for.
  void reject_unknown_fields() const;

 private:
  // The member named `field` (nullptr if none), which then counts as known.
  const boost::json::value* take(std::string_view field);
  [[nodiscard]] bool was_seen(std::size_t index) const;

  boost::json::object object_;
  // Which members an accessor asked for, by their index in object_ (which is
  // never modified): a bit each for the first 64, so that reading a small
  // object (every WebSocket frame) allocates nothing for this.
  std::uint64_t seen_mask_ = 0;
  std::vector<bool> seen_more_;
};

// Parses `text` as one JSON object; `what` names it in errors ("body",
// "frame"). Throws ApiError: kMalformedRequest (400) when it is not JSON or
// not I-JSON (a duplicate member name in any object, at any depth),
// kValidationFailed (422) when it is JSON but not an object.
[[nodiscard]] boost::json::object parse_object(std::string_view text, std::string_view what,
                                               const boost::json::parse_options& options = {});

// Parses a path parameter as a positive integer id; throws 404 (an id that
// cannot exist is simply not found).
[[nodiscard]] std::int64_t id_param(const Request& request, std::string_view name);

}  // namespace parley::http
