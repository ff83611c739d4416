#include "app/ops_routes.hpp"

#include <boost/json/object.hpp>

#include "api/services.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"
#include "storage/store.hpp"

namespace parley::app {

using boost::asio::awaitable;
using boost::json::object;
using http::Request;
using http::Response;

void register_ops_routes(http::Router& router, api::Services& services, const std::atomic<bool>& stopping) {
  // Alive: the process answers. Says nothing about its dependencies.
  router.add("GET", "/healthz", [](Request&) -> awaitable<Response> {
    co_return Response::json(object{{"status", "ok"}});
  });
  // Ready: the database answers and the server is not shutting down.
  router.add("GET", "/readyz", [&services, &stopping](Request&) -> awaitable<Response> {
    if (stopping) co_return Response::json(object{{"status", "stopping"}}, 503);
    if (!services.store.ping()) co_return Response::json(object{{"status", "database unavailable"}}, 503);
    co_return Response::json(object{{"status", "ready"}});
  });
  router.add("GET", "/metrics", [&services](Request&) -> awaitable<Response> {
    Response response;
    response.body = services.metrics.serialize();
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    co_return response;
  });
}

}  // namespace parley::app
