// The Reader against RFC 6455 §5 and §7, case by case as Autobahn|Testsuite
// groups them (categories 1-7, 9 and 10; message sizes of 9.x scaled
// down). Every case is fed whole, one byte at a time and in odd pieces: a
// split anywhere must give the same result.
#include "wsproto/reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "wsproto/test_frames.hpp"

namespace parley::wsproto {
namespace {

using namespace testing;  // NOLINT: frame builders
using Events = std::vector<std::string>;

struct Outcome {
  Error error;
  Events events;
};

Outcome run(std::string_view bytes, std::size_t chunk, Limits limits = {}) {
  Reader reader(limits);
  Recorder recorder;
  Error e = testing::feed(reader, bytes, recorder, chunk);
  return {e, recorder.events};
}

// Runs `bytes` whole and in pieces of 1, 3 and 997 bytes; all must agree.
void expect(std::string_view bytes, Error error, const Events& events, Limits limits = {}) {
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{997}}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    Outcome out = run(bytes, chunk, limits);
    EXPECT_EQ(out.error, error);
    EXPECT_EQ(out.events, events);
  }
}

std::string repeat(std::size_t n, char c = '*') { return std::string(n, c); }

// --- 1: framing of text and binary messages of every length encoding

TEST(ReaderFraming, TextAndBinaryOfEveryLengthEncoding) {
  for (std::size_t n : {0, 125, 126, 127, 128, 65535, 65536}) {
    SCOPED_TRACE(n);
    expect(text(repeat(n)), Error::kOk, {"text:" + (n > 64 ? std::to_string(n) + " bytes" : repeat(n))});
    expect(binary(repeat(n, '\xfe')), Error::kOk,
           {"binary:" + (n > 64 ? std::to_string(n) + " bytes" : repeat(n, '\xfe'))});
  }
}

TEST(ReaderFraming, UnmasksWithEveryKeyOffset) {
  Reader reader({});
  Recorder r;
  std::string payload = "The quick brown fox jumps over the lazy dog 0123456789";
  FrameSpec spec{.opcode = 2, .payload = payload};
  spec.key[0] = 0x01;
  spec.key[1] = 0x80;
  spec.key[2] = 0xff;
  spec.key[3] = 0x7f;
  ASSERT_EQ(testing::feed(reader, frame(spec), r, 5), Error::kOk);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], payload);
}

TEST(ReaderFraming, UnmaskedClientFrameIsAProtocolError) {
  expect(frame({.opcode = 1, .payload = "hi", .masked = false}), Error::kUnmaskedFrame, {});
  EXPECT_EQ(close_code_for(Error::kUnmaskedFrame), 1002);
}

TEST(ReaderFraming, LengthsMustBeMinimallyEncoded) {
  expect(frame({.opcode = 2, .payload = repeat(125), .length_bytes = 2}), Error::kBadLength, {});
  expect(frame({.opcode = 2, .payload = repeat(200), .length_bytes = 8}), Error::kBadLength, {});
  expect(frame({.opcode = 2, .payload = repeat(65535), .length_bytes = 8}), Error::kBadLength, {});
  expect(frame({.opcode = 2, .payload = repeat(65536), .length_bytes = 8}), Error::kOk, {"binary:65536 bytes"});
}

TEST(ReaderFraming, SixtyFourBitLengthWithTheTopBitSetIsRefused) {
  std::string bytes = "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01";
  bytes.resize(10);
  bytes[2] = static_cast<char>(0x80);
  expect(bytes + "\x01\x02\x03\x04", Error::kBadLength, {});
}

TEST(ReaderFraming, ManyFramesInOneRead) {
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += text("m" + std::to_string(i));
  Events events;
  for (int i = 0; i < 10; ++i) events.push_back("text:m" + std::to_string(i));
  expect(bytes, Error::kOk, events);
}

// --- 2: pings and pongs

TEST(ReaderPing, PingsAndPongsWithPayloadsUpTo125Bytes) {
  expect(ping(), Error::kOk, {"ping:"});
  expect(ping("Hello, world!"), Error::kOk, {"ping:Hello, world!"});
  const std::string bytes("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8);
  expect(ping(bytes), Error::kOk, {"ping:" + bytes});
  expect(ping(repeat(125)), Error::kOk, {"ping:" + repeat(125)});
  expect(pong(), Error::kOk, {"pong:"});
  expect(pong("unsolicited"), Error::kOk, {"pong:unsolicited"});
  expect(pong("p") + ping("q"), Error::kOk, {"pong:p", "ping:q"});
}

TEST(ReaderPing, TenPingsInARow) {
  std::string bytes;
  Events events;
  for (int i = 0; i < 10; ++i) {
    bytes += ping("payload-" + std::to_string(i));
    events.push_back("ping:payload-" + std::to_string(i));
  }
  expect(bytes, Error::kOk, events);
}

TEST(ReaderPing, ControlFramePayloadOver125BytesIsRefused) {
  expect(ping(repeat(126)), Error::kControlTooLong, {});
  expect(pong(repeat(126)), Error::kControlTooLong, {});
  expect(close_raw(repeat(126)), Error::kControlTooLong, {});
}

// --- 3: reserved bits

TEST(ReaderReservedBits, AnyReservedBitWithoutAnExtensionIsRefused) {
  expect(frame({.opcode = 1, .payload = "x", .rsv = 4}), Error::kReservedBits, {});
  // After a valid message, which is still delivered.
  expect(text("Hello") + frame({.opcode = 1, .payload = "x", .rsv = 2}), Error::kReservedBits, {"text:Hello"});
  expect(text("Hello") + frame({.opcode = 1, .payload = "x", .rsv = 1}) + ping(), Error::kReservedBits, {"text:Hello"});
  expect(frame({.opcode = 1, .payload = "x", .rsv = 6}), Error::kReservedBits, {});
  expect(frame({.opcode = 2, .payload = "x", .rsv = 5}), Error::kReservedBits, {});
  expect(frame({.opcode = 9, .payload = "x", .rsv = 3}), Error::kReservedBits, {});
  expect(frame({.opcode = 8, .payload = "\x03\xe8", .rsv = 7}), Error::kReservedBits, {});
}

TEST(ReaderReservedBits, Rsv1OnlyOnTheFirstFrameOfACompressedMessage) {
  DeflateParams params;
  Reader reader({}, &params);
  Recorder r;
  EXPECT_EQ(testing::feed(reader, frame({.opcode = 9, .payload = "x", .rsv = 4}), r), Error::kReservedBits);
  Reader reader2({}, &params);
  EXPECT_EQ(testing::feed(reader2, text("a", false) + frame({.opcode = 0, .payload = "b", .rsv = 4}), r),
            Error::kReservedBits);
}

// --- 4: opcodes

TEST(ReaderOpcodes, ReservedOpcodesAreRefused) {
  for (std::uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    SCOPED_TRACE(int(op));
    expect(frame({.opcode = op}), Error::kReservedOpcode, {});
    expect(text("Hello") + frame({.opcode = op, .payload = "reserved"}) + ping(), Error::kReservedOpcode,
           {"text:Hello"});
  }
}

// --- 5: fragmentation

TEST(ReaderFragmentation, ControlFramesMayNotBeFragmented) {
  expect(frame({.opcode = 9, .payload = "frag", .fin = false}), Error::kFragmentedControl, {});
  expect(frame({.opcode = 10, .payload = "frag", .fin = false}), Error::kFragmentedControl, {});
  expect(frame({.opcode = 8, .payload = "\x03\xe8", .fin = false}), Error::kFragmentedControl, {});
}

TEST(ReaderFragmentation, FragmentsAssembleIntoOneMessage) {
  expect(text("frag", false) + cont("ment1"), Error::kOk, {"text:fragment1"});
  expect(binary("\x01", false) + cont("\x02", false) + cont("\x03"), Error::kOk, {"binary:\x01\x02\x03"});
  // Empty fragments, as 6.1.x sends them.
  expect(text("", false) + cont("", false) + cont(""), Error::kOk, {"text:"});
  expect(text("", false) + cont("a", false) + cont(""), Error::kOk, {"text:a"});
}

TEST(ReaderFragmentation, ControlFramesBetweenFragments) {
  expect(text("frag", false) + ping("p") + cont("ment1"), Error::kOk, {"ping:p", "text:fragment1"});
  expect(text("a", false) + pong("x") + cont("b", false) + ping("y") + cont("c"), Error::kOk,
         {"pong:x", "ping:y", "text:abc"});
  // A close between fragments ends reading; the unfinished message is dropped.
  expect(text("a", false) + close(1000) + cont("b"), Error::kOk, {"close:1000:"});
}

TEST(ReaderFragmentation, ContinuationWithoutAMessageIsRefused) {
  expect(cont("x"), Error::kUnexpectedContinuation, {});
  expect(cont("x", false), Error::kUnexpectedContinuation, {});
  expect(text("a") + cont("b"), Error::kUnexpectedContinuation, {"text:a"});
  expect(cont("x", false) + text("fragment2", false) + cont("fragment3"), Error::kUnexpectedContinuation, {});
}

TEST(ReaderFragmentation, NewMessageBeforeTheLastEndedIsRefused) {
  expect(text("a", false) + text("b"), Error::kExpectedContinuation, {});
  expect(text("a", false) + ping() + binary("b", false), Error::kExpectedContinuation, {"ping:"});
}

// --- 6: UTF-8

TEST(ReaderUtf8, ValidTextWholeAndSplitAnywhere) {
  const std::string hello = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // κόσμε
  expect(text(hello), Error::kOk, {"text:" + hello});
  // Split into fragments at every byte: characters may span fragments.
  for (std::size_t cut = 0; cut <= hello.size(); ++cut) {
    expect(text(hello.substr(0, cut), false) + cont(hello.substr(cut)), Error::kOk, {"text:" + hello});
  }
  const std::string mixed = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
  expect(text(mixed), Error::kOk, {"text:" + mixed});
}

TEST(ReaderUtf8, FailsFastOnTheFirstInvalidByte) {
  // 6.4.1: a valid first fragment, then one that cannot be UTF-8, then a
  // third that never arrives: the error comes with the second.
  std::string f1 = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  std::string f2 = "\xf4\x90\x80\x80";  // above U+10FFFF
  expect(text(f1, false) + text(f2, false).replace(0, 1, "\x00", 1), Error::kInvalidUtf8, {});
  // 6.4.3/6.4.4: within a frame whose rest has not arrived yet.
  Reader reader({});
  Recorder r;
  std::string frame_bytes = text(f1 + f2 + "\xed\xa0\x80" + "edited");
  std::size_t upto = 6 /*header*/ + f1.size() + 2;  // up to 0xF4 0x90
  EXPECT_EQ(testing::feed(reader, frame_bytes.substr(0, upto), r), Error::kInvalidUtf8);
}

TEST(ReaderUtf8, TruncatedCharacterAtTheEndOfAMessageIsInvalid) {
  expect(text("abc\xce"), Error::kInvalidUtf8, {});
  expect(text("abc\xe1\xbd", false) + cont(""), Error::kInvalidUtf8, {});
}

TEST(ReaderUtf8, InvalidSequencesFromMarkusKuhnsTestFile) {
  const char* invalid[] = {"\x80",
                           "\xbf",
                           "\x80\xbf",
                           "\xc0\xaf",
                           "\xe0\x80\xaf",
                           "\xf0\x80\x80\xaf",
                           "\xf8\x80\x80\x80\xaf",
                           "\xc1\xbf",
                           "\xe0\x9f\xbf",
                           "\xf0\x8f\xbf\xbf",  // overlong
                           "\xed\xa0\x80",
                           "\xed\xbf\xbf",
                           "\xed\xa0\x80\xed\xb0\x80",  // surrogates
                           "\xf4\x90\x80\x80",
                           "\xf5\x80\x80\x80",
                           "\xfe",
                           "\xff",
                           "\xfe\xfe\xff\xff",
                           "\xc0",
                           "\xdf",
                           "\xe0\x80",
                           "\xef\xbf",
                           "\xf0\x80\x80",
                           "\xf7\xbf\xbf",  // truncated
                           "\xc2\x41",
                           "\xe1\x80\x41"};
  for (const char* s : invalid) {
    SCOPED_TRACE(::testing::PrintToString(std::string(s)));
    expect(text(s), Error::kInvalidUtf8, {});
    expect(text("a", false) + cont(s), Error::kInvalidUtf8, {});
  }
}

TEST(ReaderUtf8, BoundaryCharactersAndNoncharactersAreValid) {
  const char* valid[] = {
      "\x00",         "\x7f",         "\xc2\x80",     "\xdf\xbf",         "\xe0\xa0\x80",    "\xef\xbf\xbf",
      "\xef\xbf\xbe", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"};
  for (const char* s : valid) {
    std::string str = *s ? std::string(s) : std::string(1, '\0');
    SCOPED_TRACE(::testing::PrintToString(str));
    expect(text(str), Error::kOk, {"text:" + str});
  }
}

TEST(ReaderUtf8, BinaryMessagesAreNotChecked) { expect(binary("\xff\xfe\xc0"), Error::kOk, {"binary:\xff\xfe\xc0"}); }

// --- 7: close

TEST(ReaderClose, CloseFramesAndWhatFollowsThem) {
  expect(text("Hello") + close(1000), Error::kOk, {"text:Hello", "close:1000:"});
  // Everything after the close frame is ignored: a second close, a ping, text.
  expect(close(1000) + close(1001), Error::kOk, {"close:1000:"});
  expect(close(1000) + ping("x"), Error::kOk, {"close:1000:"});
  expect(close(1000) + text("x"), Error::kOk, {"close:1000:"});
  expect(close(1000) + frame({.opcode = 5}), Error::kOk, {"close:1000:"});
  expect(text("frag", false) + close(1000) + cont("ment"), Error::kOk, {"close:1000:"});
  expect(text(repeat(256 * 1024)) + close(1000), Error::kOk, {"text:262144 bytes", "close:1000:"});
}

TEST(ReaderClose, PayloadsAndReasons) {
  expect(close_raw(""), Error::kOk, {"close:1005:"});
  expect(close_raw("\x03"), Error::kBadCloseFrame, {});
  expect(close(1000, "Hello World!"), Error::kOk, {"close:1000:Hello World!"});
  expect(close(1000, repeat(123)), Error::kOk, {"close:1000:" + repeat(123)});
  expect(close(1000, repeat(124)), Error::kControlTooLong, {});
  expect(close(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"),
         Error::kInvalidUtf8, {});
  EXPECT_EQ(close_code_for(Error::kInvalidUtf8), 1007);
  EXPECT_EQ(close_code_for(Error::kBadCloseFrame), 1002);
}

TEST(ReaderClose, ValidCloseCodes) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
    SCOPED_TRACE(code);
    expect(close(static_cast<std::uint16_t>(code)), Error::kOk, {"close:" + std::to_string(code) + ":"});
  }
}

TEST(ReaderClose, InvalidCloseCodes) {
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    SCOPED_TRACE(code);
    expect(close(static_cast<std::uint16_t>(code)), Error::kBadCloseFrame, {});
  }
}

// --- 9: limits and large messages (Autobahn's 64 KiB - 16 MiB scaled down)

TEST(ReaderLimits, LargeMessagesInFramesOfEverySize) {
  std::string payload(1 << 20, 'x');
  Limits limits{.max_frame_bytes = 1 << 20, .max_message_bytes = 1 << 20};
  for (std::size_t fragment : {std::size_t{64}, std::size_t{4096}, std::size_t{65536}, std::size_t{1} << 20}) {
    SCOPED_TRACE(fragment);
    std::string bytes;
    for (std::size_t i = 0; i < payload.size(); i += fragment) {
      bool first = i == 0, last = i + fragment >= payload.size();
      bytes += frame(
          {.opcode = static_cast<std::uint8_t>(first ? 1 : 0), .payload = payload.substr(i, fragment), .fin = last});
    }
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1000}, std::size_t{65536}}) {
      Outcome out = run(bytes, chunk, limits);
      EXPECT_EQ(out.error, Error::kOk);
      EXPECT_EQ(out.events, Events{"text:1048576 bytes"});
    }
  }
}

TEST(ReaderLimits, FrameOverTheLimitIsRefusedWhenItsHeaderArrives) {
  Limits limits{.max_frame_bytes = 1000, .max_message_bytes = 5000};
  std::string bytes = binary(repeat(1001));
  Reader reader(limits);
  Recorder r;
  // The header (4 + 4 bytes) is enough.
  EXPECT_EQ(testing::feed(reader, bytes.substr(0, 8), r), Error::kFrameTooBig);
  EXPECT_EQ(close_code_for(Error::kFrameTooBig), 1009);
}

TEST(ReaderLimits, MessageOverTheLimitIsRefusedAcrossFragments) {
  Limits limits{.max_frame_bytes = 1000, .max_message_bytes = 2500};
  expect(binary(repeat(1000), false) + cont(repeat(1000), false) + cont(repeat(500)), Error::kOk, {"binary:2500 bytes"},
         limits);
  expect(binary(repeat(1000), false) + cont(repeat(1000), false) + cont(repeat(501)), Error::kMessageTooBig, {},
         limits);
}

TEST(ReaderLimits, NoBufferIsHeldBetweenMessages) {
  Reader reader({});
  Recorder r;
  std::string bytes = text(repeat(5000), false) + cont("end");
  ASSERT_EQ(testing::feed(reader, bytes.substr(0, 1), r), Error::kOk);
  EXPECT_FALSE(reader.idle());
  ASSERT_EQ(testing::feed(reader, bytes.substr(1), r), Error::kOk);
  EXPECT_TRUE(reader.idle());
  EXPECT_EQ(r.events, Events{"text:5003 bytes"});
}

TEST(ReaderLimits, AfterAnErrorNothingMoreIsRead) {
  Reader reader({});
  Recorder r;
  EXPECT_EQ(testing::feed(reader, frame({.opcode = 3}), r), Error::kReservedOpcode);
  EXPECT_EQ(testing::feed(reader, text("after"), r), Error::kReservedOpcode);
  EXPECT_TRUE(r.events.empty());
}

// --- 10: auto-fragmentation: a message in frames of 1300 bytes is one message

TEST(ReaderAutoFragmentation, SixtyFourKibibytesInFramesOf1300Bytes) {
  std::string payload(65536, 'a');
  std::string bytes;
  for (std::size_t i = 0; i < payload.size(); i += 1300) {
    bytes += frame({.opcode = static_cast<std::uint8_t>(i == 0 ? 1 : 0),
                    .payload = payload.substr(i, 1300),
                    .fin = i + 1300 >= payload.size()});
  }
  expect(bytes, Error::kOk, {"text:65536 bytes"});
}

}  // namespace
}  // namespace parley::wsproto
