// /api/v1/contacts and /api/v1/blocks: invitations, the contact list and
// blocking.
//
// Rules: inviting someone who already invited you makes you contacts at once;
// inviting a contact or re-inviting is 409; a block in either direction
// forbids inviting (403); blocking removes the contact and any invitations
// between the two.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::contacts {

void register_contact_routes(http::Router& router, api::Services& services);

}  // namespace parley::contacts
