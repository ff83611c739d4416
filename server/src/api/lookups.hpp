// Lookups shared by the REST routes, so that every endpoint answers a missing
// record the same way.
#pragma once

#include <string_view>

#include "storage/records.hpp"

namespace parley::storage {
class Transaction;
}

namespace parley::api {

// The user whose username is `raw` (normalized first). Throws ApiError
// kNotFound "no such user" when there is none, including when `raw` is not
// a valid username at all: a lookup by name never reveals more than that.
[[nodiscard]] storage::User user_named(storage::Transaction& tx, std::string_view raw);

}  // namespace parley::api
