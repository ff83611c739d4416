// Web Push routes (docs/openapi.yaml, tag Push; delivery in push_service.hpp):
//   GET    /api/v1/push/vapid-public-key        the key browsers subscribe with
//   POST   /api/v1/push/subscriptions           register the browser's PushSubscription (201)
//   GET    /api/v1/push/subscriptions           the caller's subscriptions, on all their devices
//   DELETE /api/v1/push/subscriptions/{id}      delete one of them (204)
// A subscription belongs to the session that registered it and is deleted
// with it. One that is not the caller's is 404, like one that does not exist.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::push {

class PushService;

void register_push_routes(http::Router& router, api::Services& services, PushService& push);

}  // namespace parley::push
