// Unguessable identifiers: random bytes from libsodium's CSPRNG, encoded as
// URL-safe base64 without padding, so they go into paths and file names as
// they are (upload and export ids, session tokens).
//
// Thread safety: pure (libsodium's generator is thread-safe once
// sodium_init() ran, which main() does).
#pragma once

#include <cstddef>
#include <string>

namespace parley {

// `bytes` random bytes as base64url without padding: 16 bytes (128 bits)
// give 22 characters, 32 bytes 43.
[[nodiscard]] std::string random_base64url(std::size_t bytes);

}  // namespace parley
