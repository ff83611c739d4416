#include "push/push_crypto.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace parley::push {
namespace {

std::string b64(std::string_view text) { return base64url_decode(text).value(); }

// RFC 8291 Appendix A: the example's keys, salt and result.
constexpr std::string_view kPlaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view kSenderPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kReceiverPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kAuth = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3"
    "jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

TEST(PushCryptoTest, EncryptsTheRfc8291Example) {
  Receiver receiver{b64(kReceiverPublic), b64(kAuth)};
  std::string body = encrypt_with(kPlaintext, receiver, b64(kSenderPrivate), b64(kSalt), 0);
  EXPECT_EQ(base64url_encode(body), kBody);
}

TEST(PushCryptoTest, EncryptPadsToBlocksAndUsesNewKeysEachTime) {
  Receiver receiver{b64(kReceiverPublic), b64(kAuth)};
  std::string a = encrypt("hi", receiver);
  std::string b = encrypt("hi", receiver);
  // header 86 + one padded block + tag 16
  EXPECT_EQ(a.size(), 86 + kPaddingBlock + 16);
  EXPECT_NE(a.substr(0, 16), b.substr(0, 16)) << "a new salt";
  EXPECT_NE(a.substr(21, 65), b.substr(21, 65)) << "a new ephemeral key";
  EXPECT_THROW((void)encrypt(std::string(kMaxPlaintext + 1, 'x'), receiver), std::invalid_argument);
  EXPECT_NO_THROW((void)encrypt(std::string(kMaxPlaintext, 'x'), receiver));
}

TEST(PushCryptoTest, Base64urlRoundTripsAndRefusesOtherAlphabets) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_decode("-_8="), "\xfb\xff") << "padding is tolerated";
  EXPECT_FALSE(base64url_decode("+/8").has_value()) << "standard base64 alphabet";
  EXPECT_FALSE(base64url_decode("a b").has_value());
}

TEST(PushCryptoTest, ValidatesP256Points) {
  EXPECT_TRUE(is_valid_p256_public_key(b64(kReceiverPublic)));
  std::string point = b64(kReceiverPublic);
  std::string off_curve = point;
  off_curve[64] = static_cast<char>(off_curve[64] ^ 1);
  EXPECT_FALSE(is_valid_p256_public_key(off_curve));
  EXPECT_FALSE(is_valid_p256_public_key(point.substr(0, 33))) << "compressed length";
  std::string compressed_prefix = point;
  compressed_prefix[0] = 0x02;
  EXPECT_FALSE(is_valid_p256_public_key(compressed_prefix));
  EXPECT_FALSE(is_valid_p256_public_key(std::string(65, '\0')));
}

TEST(PushCryptoTest, JwtHasTheClaimsAndARawSignature) {
  auto key = VapidKey::from_private_bytes(b64(kSenderPrivate));
  EXPECT_EQ(base64url_encode(key.public_key()),
            "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
  auto expires = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  std::string jwt = key.jwt("https://push.example.net", expires, "mailto:ops@example.org");
  auto first = jwt.find('.');
  auto second = jwt.find('.', first + 1);
  ASSERT_NE(second, std::string::npos);
  auto header = boost::json::parse(b64(jwt.substr(0, first)));
  EXPECT_EQ(header.at("alg"), "ES256");
  auto claims = boost::json::parse(b64(jwt.substr(first + 1, second - first - 1)));
  EXPECT_EQ(claims.at("aud"), "https://push.example.net");
  EXPECT_EQ(claims.at("exp"), 1'800'000'000);
  EXPECT_EQ(claims.at("sub"), "mailto:ops@example.org");
  EXPECT_EQ(b64(jwt.substr(second + 1)).size(), 64U);
  std::string bare = key.jwt("https://a.example", expires, "");
  auto bare_first = bare.find('.');
  auto bare_claims =
      boost::json::parse(b64(bare.substr(bare_first + 1, bare.find('.', bare_first + 1) - bare_first - 1)));
  EXPECT_FALSE(bare_claims.as_object().contains("sub")) << "no subject configured";
  EXPECT_EQ(key.authorization("https://a.example", expires, "").rfind("vapid t=", 0), 0U);
}

TEST(PushCryptoTest, KeyFileIsCreatedPrivateAndReadBack) {
  auto dir = std::filesystem::temp_directory_path() / ("parley-vapid-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto file = dir / "push" / "vapid.pem";
  std::string first = VapidKey::load_or_create(file).public_key();
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(VapidKey::load_or_create(file).public_key(), first) << "the same key on the next start";
  ::chmod(file.c_str(), 0644);
  EXPECT_THROW((void)VapidKey::load_or_create(file), std::runtime_error) << "readable by others";
  ::chmod(file.c_str(), 0600);
  std::ofstream(file) << "not a key";
  EXPECT_THROW((void)VapidKey::load_or_create(file), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::push
