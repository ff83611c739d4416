#include "core/sha256.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(Sha256Test, KnownDigests) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, IncrementalEqualsWhole) {
  Sha256 hash;
  hash.update("ab");
  hash.update("c");
  EXPECT_EQ(hash.hex_digest(), sha256_hex("abc"));
}

}  // namespace
}  // namespace parley
