// /api/v1/accounts, /api/v1/sessions and /api/v1/me/password: registration,
// login, logout, device sessions and password changes.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::auth {

void register_account_routes(http::Router& router, api::Services& services);

}  // namespace parley::auth
