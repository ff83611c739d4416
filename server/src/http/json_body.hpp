// Reading JSON request bodies with one consistent set of errors:
//   415 when the Content-Type is not application/json,
//   400 when the body is not JSON at all,
//   422 when it is JSON but not what the endpoint takes: not an object, a
//       missing or unknown field, a wrong type, invalid UTF-8.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "http/message.hpp"

namespace parley::http {

class JsonBody {
 public:
  // Parses the request's body. Throws ApiError as described above.
  explicit JsonBody(const Request& request);
  // Reads fields of an object already parsed (e.g. a WebSocket frame).
  explicit JsonBody(boost::json::object object) : object_(std::move(object)) {}

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

  // Throws 422 naming the first field that no accessor asked for.
  void reject_unknown_fields() const;

 private:
  const boost::json::value* take(std::string_view field);
  boost::json::object object_;
  std::set<std::string, std::less<>> seen_;
};

// Parses a path parameter as a positive integer id; throws 404 (an id that
// cannot exist is simply not found).
[[nodiscard]] std::int64_t id_param(const Request& request, std::string_view name);

}  // namespace parley::http
