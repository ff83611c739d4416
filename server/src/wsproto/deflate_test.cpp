// permessage-deflate (RFC 7692): negotiation, and compressed messages
// through the Reader (Autobahn|Testsuite categories 12 and 13, basics).
#include "wsproto/deflate.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "wsproto/test_frames.hpp"

namespace parley::wsproto {
namespace {

using namespace testing;  // NOLINT: frame builders

DeflateOptions enabled(bool takeover = false, int bits = 15) {
  DeflateOptions o;
  o.enabled = true;
  o.context_takeover = takeover;
  o.max_window_bits = bits;
  return o;
}

TEST(DeflateNegotiation, OffNegotiatesNothing) {
  EXPECT_FALSE(negotiate_deflate("permessage-deflate", DeflateOptions{}));
  EXPECT_FALSE(negotiate_deflate("x-webkit-deflate-frame", enabled()));
  EXPECT_FALSE(negotiate_deflate("", enabled()));
}

TEST(DeflateNegotiation, DefaultsToNoContextTakeoverEitherWay) {
  auto p = negotiate_deflate("permessage-deflate; client_max_window_bits", enabled());
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_TRUE(p->client_no_context_takeover);
  EXPECT_EQ(deflate_response(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=15");
}

TEST(DeflateNegotiation, ContextTakeoverWhenAllowedAndNotRefusedByTheClient) {
  auto p = negotiate_deflate("permessage-deflate", enabled(true));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->server_no_context_takeover);
  EXPECT_FALSE(p->client_no_context_takeover);
  EXPECT_EQ(deflate_response(*p), "permessage-deflate");
  p = negotiate_deflate("permessage-deflate; server_no_context_takeover; client_no_context_takeover", enabled(true));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
  EXPECT_TRUE(p->client_no_context_takeover);
}

TEST(DeflateNegotiation, WindowBits) {
  auto p = negotiate_deflate("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", enabled());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 10);
  EXPECT_EQ(p->client_max_window_bits, 12);
  EXPECT_EQ(deflate_response(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits=12");
  // The server's own limit applies to both windows when it may choose.
  p = negotiate_deflate("permessage-deflate; client_max_window_bits", enabled(false, 11));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 11);
  EXPECT_EQ(p->client_max_window_bits, 11);
  // Quoted values (RFC 7692 §7.1.2.1 allows a quoted-string).
  p = negotiate_deflate("permessage-deflate; server_max_window_bits=\"9\"", enabled());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 9);
}

TEST(DeflateNegotiation, InvalidOffersAreDeclinedAndTheNextOneTried) {
  for (const char* bad :
       {"permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16", "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=010", "permessage-deflate; unknown",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(negotiate_deflate(bad, enabled()));
    auto p = negotiate_deflate(std::string(bad) + ", permessage-deflate; server_max_window_bits=12", enabled());
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server_max_window_bits, 12);
  }
}

// A client's compressed frame: the message deflated, tail removed, RSV1.
std::string compressed_frame(Deflater& deflater, std::string_view message, bool reset, std::uint8_t opcode = 1) {
  return frame({.opcode = opcode, .payload = deflater.compress(message, reset), .rsv = 4});
}

TEST(DeflateMessages, CompressedMessagesOfManySizes) {
  DeflateParams params;
  params.client_no_context_takeover = true;
  Deflater deflater(15, 8, 6);
  std::mt19937 random(7);
  for (std::size_t n : {0, 16, 64, 256, 1024, 4096, 32768, 131072, 262144}) {
    SCOPED_TRACE(n);
    std::string payload;
    for (std::size_t i = 0; i < n; ++i) payload.push_back(static_cast<char>('a' + random() % 8));
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{1000}}) {
      if (chunk == 1 && n > 4096) continue;
      Reader reader({}, &params);
      Recorder r;
      ASSERT_EQ(testing::feed(reader, compressed_frame(deflater, payload, true), r, chunk), Error::kOk);
      ASSERT_EQ(r.messages.size(), 1u);
      EXPECT_EQ(r.messages[0], payload);
      EXPECT_TRUE(reader.idle());
    }
  }
}

TEST(DeflateMessages, FragmentedCompressedMessage) {
  DeflateParams params;
  Deflater deflater(15, 8, 6);
  std::string payload(10000, 'z');
  std::string compressed = deflater.compress(payload, true);
  std::size_t half = compressed.size() / 2;
  Reader reader({}, &params);
  Recorder r;
  ASSERT_EQ(testing::feed(reader,
                          frame({.opcode = 2, .payload = compressed.substr(0, half), .fin = false, .rsv = 4}) +
                              ping("between") + cont(compressed.substr(half)),
                          r),
            Error::kOk);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], payload);
  EXPECT_EQ(r.events.front(), "ping:between");
}

TEST(DeflateMessages, ContextTakeoverCarriesTheWindowAcrossMessages) {
  DeflateParams params;  // both sides keep their context
  Deflater deflater(15, 8, 6);
  Reader reader({}, &params);
  Recorder r;
  std::string message = "a message that repeats, a message that repeats, and again";
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(testing::feed(reader, compressed_frame(deflater, message, false), r), Error::kOk);
  ASSERT_EQ(r.messages.size(), 5u);
  for (const auto& m : r.messages) EXPECT_EQ(m, message);
}

TEST(DeflateMessages, CompressedAndPlainMessagesMix) {
  DeflateParams params;
  params.client_no_context_takeover = true;
  Deflater deflater(15, 8, 6);
  Reader reader({}, &params);
  Recorder r;
  ASSERT_EQ(
      testing::feed(reader, text("plain") + compressed_frame(deflater, "squeezed", true) + text("plain again"), r),
      Error::kOk);
  EXPECT_EQ(r.events, (std::vector<std::string>{"text:plain", "text:squeezed", "text:plain again"}));
}

TEST(DeflateMessages, InvalidUtf8InsideCompressedTextIsRefused) {
  DeflateParams params;
  Deflater deflater(15, 8, 6);
  Reader reader({}, &params);
  Recorder r;
  EXPECT_EQ(testing::feed(reader, compressed_frame(deflater, "valid then \xed\xa0\x80", true), r), Error::kInvalidUtf8);
}

// The first error must not depend on how the input is split (fuzz_ws_proto
// checks this on random input): were the inflated bytes checked for UTF-8
// only after zlib's verdict on the piece, a whole frame would fail with
// kBadDeflate and the same frame in small pieces with kInvalidUtf8.
TEST(DeflateMessages, TheFirstErrorIsTheSameHoweverTheInputIsSplit) {
  DeflateParams params;
  Deflater deflater(15, 8, 6);
  std::string compressed = deflater.compress("valid, then \xff and more", false);
  // The end of the flush's empty stored block, then a final block of the
  // reserved type 3: zlib fails there, after inflating the text before it.
  compressed += std::string("\x00\x00\xff\xff\xff", 5);
  std::string bytes = frame({.opcode = 1, .payload = compressed, .rsv = 4});
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{5}}) {
    SCOPED_TRACE(chunk);
    Reader reader({}, &params);
    Recorder r;
    EXPECT_EQ(testing::feed(reader, bytes, r, chunk), Error::kInvalidUtf8);
  }
}

TEST(DeflateMessages, DataThatDoesNotInflateIsRefused) {
  DeflateParams params;
  Reader reader({}, &params);
  Recorder r;
  // Block type 3 is reserved in DEFLATE (RFC 1951).
  EXPECT_EQ(testing::feed(reader, frame({.opcode = 2, .payload = "\xff\xff\xff\xff", .rsv = 4}), r),
            Error::kBadDeflate);
  EXPECT_EQ(close_code_for(Error::kBadDeflate), 1007);
}

TEST(DeflateMessages, DeflateBombStopsAtTheMessageLimit) {
  DeflateParams params;
  params.client_no_context_takeover = true;
  Deflater deflater(15, 9, 9);
  std::string bomb = deflater.compress(std::string(64 << 20, '\0'), true);  // 64 MiB of zeros
  ASSERT_LT(bomb.size(), 100u * 1024);
  Limits limits{.max_frame_bytes = 1 << 20, .max_message_bytes = 1 << 20};
  Reader reader(limits, &params);
  Recorder r;
  EXPECT_EQ(testing::feed(reader, frame({.opcode = 2, .payload = bomb, .rsv = 4}), r), Error::kMessageTooBig);
  EXPECT_TRUE(r.messages.empty());
}

TEST(DeflateMessages, Rsv1WithoutNegotiationIsRefused) {
  Deflater deflater(15, 8, 6);
  Reader reader({});
  Recorder r;
  EXPECT_EQ(testing::feed(reader, compressed_frame(deflater, "hello", true), r), Error::kReservedBits);
}

TEST(DeflateMessages, ServerCompressionRoundTripsThroughZlib) {
  Deflater deflater(9, 1, 1);
  Inflater inflater(15);
  std::string message;
  for (int i = 0; i < 2000; ++i) message += "message " + std::to_string(i) + "; ";
  std::string compressed = deflater.compress(message, true);
  EXPECT_LT(compressed.size(), message.size() / 2);
  std::string out;
  ASSERT_EQ(inflater.inflate(reinterpret_cast<const std::uint8_t*>(compressed.data()), compressed.size(), out, 1 << 20),
            Error::kOk);
  ASSERT_EQ(inflater.finish(out, 1 << 20), Error::kOk);
  EXPECT_EQ(out, message);
}

}  // namespace
}  // namespace parley::wsproto
