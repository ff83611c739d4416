// Account deletion: DELETE /api/v1/me (docs/security.md "Account deletion").
//
// The caller proves it is the account's owner again (password, and a second
// factor when two-factor login is on: a stolen session token alone cannot
// delete an account). Then, in one write:
//   - every group membership ends as a leave (member.left to the others;
//     the last owner's group passes to its longest-standing admin, else
//     member, as when they leave themselves);
//   - contacts and invitations end with their events to the other side
//     (contact.removed, contact.invitation_removed); blocks go silently;
//   - Transaction::purge_account removes sessions, two-factor, mutes,
//     sticker sets and the media no message carries, and anonymises the
//     users row the sent messages still name ("Deleted user");
//   - the username is reserved (by its hash) for
//     accounts.deleted_username_reserve_seconds.
// After the commit the account's open WebSocket connections close
// (close code 4403, "account deleted").
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::account {

void register_deletion_routes(http::Router& router, api::Services& services);

}  // namespace parley::account
