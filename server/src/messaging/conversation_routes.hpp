// /api/v1/conversations: direct and group conversations, members and roles,
// and message history.
//
// Permissions in groups (docs/protocol.md has the full table):
//   rename, set topic, add members ........ admin or owner
//   remove a member ........................ a role above the member's (admins remove members;
//                                            owners remove members and admins)
//   change a role ........................... owner (not their own)
//   delete others' messages ................ admin or owner
//   leave .................................. anyone; the last owner hands ownership to the
//                                            longest-standing admin, else member
// Non-members get 404 for every route of a conversation, as if it did not exist.
#pragma once

#include <cstddef>

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::messaging {

inline constexpr std::size_t kMaxGroupMembers = 1000;
inline constexpr std::size_t kMaxHistoryPage = 200;
inline constexpr std::size_t kDefaultHistoryPage = 50;

void register_conversation_routes(http::Router& router, api::Services& services);

}  // namespace parley::messaging
