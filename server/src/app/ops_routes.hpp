// /healthz, /readyz and /metrics, for load balancers and monitoring.
#pragma once

#include <atomic>

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::app {

// `stopping` turns /readyz to 503 during shutdown, so that load balancers
// stop sending new work before connections are drained.
void register_ops_routes(http::Router& router, api::Services& services, const std::atomic<bool>& stopping);

}  // namespace parley::app
