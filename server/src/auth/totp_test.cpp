#include "auth/totp.hpp"

#include <gtest/gtest.h>

namespace parley::auth::totp {
namespace {

// RFC 6238 appendix B and RFC 4226 appendix D use this ASCII secret for SHA-1.
constexpr std::string_view kRfcSecret = "12345678901234567890";

TEST(TotpTest, Base32MatchesRfc4648Vectors) {
  // RFC 4648 section 10, without the padding otpauth URIs leave out.
  EXPECT_EQ(base32_encode(""), "");
  EXPECT_EQ(base32_encode("f"), "MY");
  EXPECT_EQ(base32_encode("fo"), "MZXQ");
  EXPECT_EQ(base32_encode("foo"), "MZXW6");
  EXPECT_EQ(base32_encode("foob"), "MZXW6YQ");
  EXPECT_EQ(base32_encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(base32_encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(base32_decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(base32_decode("mzxw 6ytb oi"), "foobar");
  EXPECT_EQ(base32_encode(kRfcSecret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), std::string(kRfcSecret));
  EXPECT_FALSE(base32_decode("MZXW1"));  // '1' is not base32
  EXPECT_FALSE(base32_decode("MZ9"));
  EXPECT_FALSE(base32_decode("MZ"));  // fine: "f" is MY; MZ leaves non-zero bits
  EXPECT_TRUE(base32_decode("MY"));
}

TEST(TotpTest, HotpMatchesRfc4226Vectors) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(hotp(kRfcSecret, counter), expected[counter]) << counter;
  }
}

TEST(TotpTest, TotpMatchesRfc6238Sha1Vectors) {
  struct Vector {
    std::int64_t time;
    const char* code;
  };
  for (auto [time, code] : {Vector{59, "94287082"}, Vector{1111111109, "07081804"}, Vector{1111111111, "14050471"},
                            Vector{1234567890, "89005924"}, Vector{2000000000, "69279037"},
                            Vector{20000000000, "65353130"}}) {
    EXPECT_EQ(code_at_step(kRfcSecret, step_at(time), 8), code) << time;
  }
}

TEST(TotpTest, VerifyAcceptsOneStepOfSkewAndRefusesReuse) {
  std::int64_t now = step_at(1234567890);
  std::string current = code_at_step(kRfcSecret, now);
  EXPECT_EQ(verify(kRfcSecret, current, now, -1), now);
  EXPECT_EQ(verify(kRfcSecret, code_at_step(kRfcSecret, now - 1), now, -1), now - 1);
  EXPECT_EQ(verify(kRfcSecret, code_at_step(kRfcSecret, now + 1), now, -1), now + 1);
  EXPECT_FALSE(verify(kRfcSecret, code_at_step(kRfcSecret, now - 2), now, -1));
  EXPECT_FALSE(verify(kRfcSecret, code_at_step(kRfcSecret, now + 2), now, -1));
  // Used once: the same step, or any earlier one, is refused.
  EXPECT_FALSE(verify(kRfcSecret, current, now, now));
  EXPECT_FALSE(verify(kRfcSecret, code_at_step(kRfcSecret, now - 1), now, now));
  EXPECT_EQ(verify(kRfcSecret, code_at_step(kRfcSecret, now + 1), now, now), now + 1);
  EXPECT_FALSE(verify(kRfcSecret, "12345", now, -1));
  EXPECT_FALSE(verify(kRfcSecret, "", now, -1));
}

TEST(TotpTest, SecretsAreRandom160Bits) {
  auto a = generate_secret();
  EXPECT_EQ(a.size(), 20U);
  EXPECT_NE(a, generate_secret());
}

TEST(TotpTest, OtpauthUriEscapesItsParts) {
  EXPECT_EQ(otpauth_uri("Parley", "alice.smith", kRfcSecret),
            "otpauth://totp/Parley:alice.smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Parley"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(otpauth_uri("My Chat", "bob", "x"), "otpauth://totp/My%20Chat:bob?secret=PA&issuer=My%20Chat"
                                                 "&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace parley::auth::totp
