#include "core/random_id.hpp"

#include <vector>

#include <sodium.h>

namespace parley {

std::string random_base64url(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string encoded(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), raw.data(), raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  encoded.resize(encoded.size() - 1);  // the terminating NUL
  sodium_memzero(raw.data(), raw.size());
  return encoded;
}

}  // namespace parley
