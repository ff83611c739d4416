// /api/v1/me/two-factor: an account's two-factor login settings: status,
// enrolment (secret, otpauth URI, QR codes), confirmation with a first code
// (which enables it and returns the recovery codes, once), and disabling
// with password and code. The login's second step is in account_routes.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::auth {

void register_two_factor_routes(http::Router& router, api::Services& services);

}  // namespace parley::auth
