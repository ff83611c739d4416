#include "protocol/model.hpp"

#include <gtest/gtest.h>

#include "rest/http.hpp"

namespace parley::protocol {
namespace {

TEST(Model, MessageTextRulesMatchTheServer) {
  EXPECT_FALSE(check_message_text("hello\nworld\t!", false));
  EXPECT_TRUE(check_message_text("", false));
  EXPECT_FALSE(check_message_text("", true));
  EXPECT_TRUE(check_message_text(" \n\t ", false));
  EXPECT_TRUE(check_message_text(std::string("a\x01", 2), false));
  EXPECT_TRUE(check_message_text("a\x7f", false));
  EXPECT_TRUE(check_message_text("\xc3(", false));  // invalid UTF-8
  EXPECT_FALSE(check_message_text(std::string(4000, 'a'), false));
  EXPECT_TRUE(check_message_text(std::string(4001, 'a'), false));
  std::string emoji;
  for (int i = 0; i < 4000; ++i) emoji += "\xf0\x9f\x91\x8d";  // 4000 code points, 16000 bytes
  EXPECT_FALSE(check_message_text(emoji, false));
}

TEST(Model, ParsingNamesTheMissingOrMistypedField) {
  try {
    (void)parse_message(parse_json(R"({"id":1,"conversation_id":2,"seq":"3"})"));
    FAIL();
  } catch (const ProtocolError& error) {
    EXPECT_NE(std::string(error.what()).find("seq"), std::string::npos) << error.what();
  }
  EXPECT_THROW((void)parse_json("{\"a\":"), ProtocolError);
  EXPECT_THROW((void)parse_user(parse_json("[]")), ProtocolError);
  EXPECT_THROW((void)parse_role("emperor"), ProtocolError);
}

TEST(Model, ServerErrorsKeepTheirCodeUnknownCodesAreFlagged) {
  auto error = parse_error(parse_json(R"({"error":{"code":"not_found","message":"no such user"}})"), 404);
  EXPECT_EQ(error.code, Errc::not_found);
  EXPECT_EQ(error.message, "no such user");
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(parse_error(parse_json(R"({"code":"brand_new","message":"x"})"), 0).code, Errc::unknown_server_error);
  EXPECT_EQ(parse_error(parse_json("[1]"), 502).code, Errc::bad_response);
  // Engine-side names are never taken from the server.
  EXPECT_EQ(errc_from_server("network"), Errc::unknown_server_error);
}

TEST(Model, ClientIdsAreUniqueAndWhatTheServerAccepts) {
  const auto a = new_client_id();
  const auto b = new_client_id();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 22u);
  for (char c : a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << a;
}

TEST(Model, ServerUrls) {
  auto ok = rest::parse_server_url("http://127.0.0.1:8080");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value().host, "127.0.0.1");
  EXPECT_EQ(ok.value().port, "8080");
  EXPECT_EQ(rest::parse_server_url("http://chat.example/").value().port, "80");
  EXPECT_EQ(rest::parse_server_url("http://[::1]:9000").value().host, "::1");
  EXPECT_FALSE(rest::parse_server_url("ftp://x"));
  EXPECT_FALSE(rest::parse_server_url("http://host:99999"));
  EXPECT_FALSE(rest::parse_server_url("http://host/api"));
  // https: port 443 and a TLS context (verification by default).
  auto secure = rest::parse_server_url("https://chat.example");
  ASSERT_TRUE(secure) << secure.error().message;
  EXPECT_EQ(secure.value().port, "443");
  EXPECT_NE(secure.value().tls, nullptr);
  EXPECT_EQ(rest::parse_server_url("http://chat.example").value().tls, nullptr);
  // A CA file that cannot be read is refused before any connection.
  TlsTrust missing;
  missing.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(rest::parse_server_url("https://host", missing).error().code, Errc::invalid_argument);
  TlsTrust nothing;
  nothing.system_store = false;
  EXPECT_EQ(rest::parse_server_url("https://host", nothing).error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace parley::protocol
