// Fuzzes the REST JSON body path (http/json_body.cpp): I-JSON parsing with
// the duplicate-key check, then the JsonBody accessors a route would call.
//
// Oracles besides the sanitizers: every refusal is an ApiError of the
// documented codes with a UTF-8 message; the I-JSON parser agrees with
// boost::json::parse on what is JSON, and on the value when it accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/error.hpp"
#include "core/ijson.hpp"
#include "core/validation.hpp"
#include "http/json_body.hpp"

namespace {

using parley::ApiError;
using parley::ErrorCode;

void check_refusal(const ApiError& e) {
  switch (e.code()) {
    case ErrorCode::kMalformedRequest:
    case ErrorCode::kValidationFailed:
      break;
    default:
      std::abort();  // a JSON body can only be malformed or invalid
  }
  if (!parley::validation::is_valid_utf8(e.what())) std::abort();  // it goes into a JSON error body
}

// The I-JSON parser against Boost.JSON's own: they must agree on syntax,
// and on the value whenever no duplicate was found.
void differential(std::string_view text, const boost::json::parse_options& options) {
  auto ours = parley::ijson::parse(text, options);
  boost::system::error_code ec;
  auto theirs = boost::json::parse(text, ec, {}, options);
  if (ec) {
    if (ours.failure != parley::ijson::Failure::kSyntax) std::abort();
    return;
  }
  if (ours.failure == parley::ijson::Failure::kSyntax) std::abort();
  // Compared as text: Boost.JSON 1.81 reads "0e808" as NaN, which is not
  // equal to itself.
  if (ours.failure == parley::ijson::Failure::kNone &&
      boost::json::serialize(ours.value) != boost::json::serialize(theirs)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::parse_options rest;  // as JsonBody parses a request body
  rest.allow_invalid_utf8 = true;
  rest.max_depth = 16;
  differential(text, rest);
  differential(text, {});  // as a WebSocket frame is parsed

  parley::http::Request request;
  request.body = text;
  request.content_type = "application/json; charset=utf-8";
  try {
    parley::http::JsonBody body(request);
    // The accessors of the routes, on the field names the corpus uses; each
    // may refuse a field of the wrong type.
    auto attempt = [](auto&& read) {
      try {
        read();
      } catch (const ApiError& e) {
        check_refusal(e);
      }
    };
    attempt([&] { (void)body.optional_string("username"); });
    attempt([&] { (void)body.required_string("password"); });
    attempt([&] { (void)body.nullable_string("display_name"); });
    attempt([&] { (void)body.optional_bool("notifications_enabled"); });
    attempt([&] { (void)body.optional_int("conversation_id"); });
    attempt([&] { (void)body.nullable_int("reply_to"); });
    attempt([&] { (void)body.optional_string_array("members", 8); });
    attempt([&] { body.reject_unknown_fields(); });
  } catch (const ApiError& e) {
    check_refusal(e);
  }
  return 0;
}
