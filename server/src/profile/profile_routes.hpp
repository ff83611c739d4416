// /api/v1/me, /api/v1/me/settings and /api/v1/users/{username}: the caller's
// profile and settings, and other users' public profiles.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::profile {

void register_profile_routes(http::Router& router, api::Services& services);

}  // namespace parley::profile
