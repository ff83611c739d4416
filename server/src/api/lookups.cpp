#include "api/lookups.hpp"

#include "core/error.hpp"
#include "core/validation.hpp"
#include "storage/store.hpp"

namespace parley::api {

storage::User user_named(storage::Transaction& tx, std::string_view raw) {
  auto username = validation::normalized_username(raw);
  auto user = username ? tx.user_by_username(*username) : std::nullopt;
  if (!user) throw ApiError(ErrorCode::kNotFound, "no such user");
  return *user;
}

}  // namespace parley::api
