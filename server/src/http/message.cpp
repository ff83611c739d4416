#include "http/message.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace parley::http {

const std::string& Request::param(std::string_view name) const { return params.find(name)->second; }

Response Response::json(const boost::json::value& value, int status) {
  Response response;
  response.status = status;
  response.body = boost::json::serialize(value);
  return response;
}

Response Response::no_content() {
  Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

Response Response::error(const ApiError& error) {
  boost::json::object detail;
  detail["code"] = error_name(error.code());
  detail["message"] = error.what();
  Response response = json(boost::json::object{{"error", std::move(detail)}}, http_status(error.code()));
  if (response.status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (auto retry = error.retry_after()) {
    response.headers.emplace_back("Retry-After", std::to_string(retry->count()));
  }
  return response;
}

}  // namespace parley::http
