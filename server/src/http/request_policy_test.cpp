#include "http/request_policy.hpp"

#include <string>

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace parley::http {
namespace {

// Parses `header` (up to and including its blank line) and checks its framing.
// Returns "parse error" when Beast refuses the header itself, "ok" when the
// framing is accepted, or the refusal's message.
std::string framing_of(const std::string& header) {
  RequestParser parser;
  apply_limits(parser, HttpOptions{});
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(header), ec);
  if (ec) return "parse error";
  if (!parser.is_header_done()) return "incomplete";
  auto refusal = check_framing(parser);
  return refusal ? refusal->what() : "ok";
}

TEST(RequestPolicyTest, PlainFramingsAreAccepted) {
  EXPECT_EQ(framing_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "ok");
  EXPECT_EQ(framing_of("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), "ok");
  EXPECT_EQ(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), "ok");
  EXPECT_EQ(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n"), "ok");
  EXPECT_EQ(framing_of("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n"), "ok");
}

TEST(RequestPolicyTest, AmbiguousFramingsAreRefused) {
  for (const char* header : {
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 4\r\n\r\n",
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 4, 4\r\n\r\n",
       }) {
    auto result = framing_of(header);
    EXPECT_TRUE(result.starts_with("ambiguous message framing")) << header << " -> " << result;
  }
}

TEST(RequestPolicyTest, FramingsBeastRefusesStayRefused) {
  for (const char* header : {
           "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
       }) {
    auto result = framing_of(header);
    EXPECT_NE(result, "ok") << header;
  }
}

TEST(RequestPolicyTest, ReadErrorsMapToTheirAnswers) {
  HttpOptions options;
  auto header = classify_read_error(boost::beast::http::error::header_limit, options);
  ASSERT_TRUE(header.answer);
  EXPECT_EQ(header.answer->code(), ErrorCode::kHeaderTooLarge);
  auto body = classify_read_error(boost::beast::http::error::body_limit, options);
  ASSERT_TRUE(body.answer);
  EXPECT_EQ(body.answer->code(), ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(body.body_unread);
  EXPECT_FALSE(classify_read_error(boost::beast::http::error::end_of_stream, options).answer);
  auto bad = classify_read_error(boost::beast::http::error::bad_transfer_encoding, options);
  ASSERT_TRUE(bad.answer);
  EXPECT_EQ(bad.answer->code(), ErrorCode::kMalformedRequest);
}

}  // namespace
}  // namespace parley::http
