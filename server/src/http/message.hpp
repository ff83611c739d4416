// The request and response as handlers see them: plain values with no Beast
// types, so that handler files compile without the HTTP machinery.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/error.hpp"

namespace parley::http {

struct Request {
  std::string_view method;        // "GET", "POST", ...
  std::string_view path;          // percent-decoded path without the query
  std::string_view query;         // raw query string after '?', or empty
  std::string_view body;
  std::string_view content_type;  // the Content-Type header, or empty
  std::string_view authorization; // the Authorization header, or empty
  std::string_view user_agent;
  std::string remote_address;     // the peer's IP address
  std::map<std::string, std::string, std::less<>> params;  // from {name} route segments

  // The value of a route parameter; the router guarantees it exists.
  [[nodiscard]] const std::string& param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  // 200 (or `status`) with `value` serialised as the JSON body.
  static Response json(const boost::json::value& value, int status = 200);
  // 204 with no body.
  static Response no_content();
  // The JSON error body {"error": {"code", "message"}} with the code's status
  // (and Retry-After where the error carries one).
  static Response error(const ApiError& error);
};

}  // namespace parley::http
