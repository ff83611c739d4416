// Maps (method, path) to a handler. Patterns are literal segments and
// `{name}` parameters, e.g. "/api/v1/sessions/{id}".
//
// Routes are registered at start-up, before the server runs; afterwards the
// router is read-only and may be used from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/message.hpp"

namespace parley::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  std::vector<std::string> segments;  // pattern split at '/'
  // Set for streaming routes: the body reaches the handler as
  // Request::body_stream, and may be at most this many bytes.
  std::optional<std::uint64_t> stream_limit;
};

// A handler that calls `method` on a shared object of route handlers; the
// object lives as long as the router holds the handler.
template <typename Routes>
Handler member_handler(std::shared_ptr<Routes> routes, boost::asio::awaitable<Response> (Routes::*method)(Request&)) {
  return [routes = std::move(routes), method](Request& request) { return ((*routes).*method)(request); };
}

class Router {
 public:
  // Registers a route. Throws std::logic_error for a duplicate.
  void add(std::string_view method, std::string_view pattern, Handler handler);
  // Registers a route whose body is streamed to the handler (uploads)
  // rather than read whole under HttpOptions::max_body_bytes; the body may
  // be up to `max_body_bytes`.
  void add_streaming(std::string_view method, std::string_view pattern, std::uint64_t max_body_bytes,
                     Handler handler);

  // The route for a request, filling request.params. A HEAD request
  // without a HEAD route takes the GET route (the server then sends the
  // response's header only). Throws ApiError kNotFound when no pattern
  // matches the path, kMethodNotAllowed when one does but not for this
  // method.
  [[nodiscard]] const Route& match(Request& request) const;

  // Serves GET and HEAD requests whose path no route has (the web app's
  // files and its client-side routes: web/static_site.hpp). Other methods on
  // such paths stay 404. `label` names it in metrics, as a pattern would.
  void set_fallback(std::string label, Handler handler);

  // The route match() would pick, or nullptr; never throws, fills nothing.
  // Never the fallback: it serves no streaming body.
  [[nodiscard]] const Route* find(std::string_view method, std::string_view path) const;

  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::optional<Route> fallback_;
};

}  // namespace parley::http
