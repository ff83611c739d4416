// Server frames: headers, shared prepared messages, and the outbound queue's
// gathered writes, read back with a plain decoder written from RFC 6455 §5.2.
#include "wsproto/writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::wsproto {
namespace {

struct Decoded {
  bool fin;
  bool rsv1;
  int opcode;
  std::string payload;
};

// Server frames in `bytes`, which must be whole and unmasked.
std::vector<Decoded> decode(std::string_view bytes) {
  std::vector<Decoded> out;
  std::size_t i = 0;
  while (i < bytes.size()) {
    auto b0 = static_cast<std::uint8_t>(bytes[i]), b1 = static_cast<std::uint8_t>(bytes[i + 1]);
    EXPECT_EQ(b1 & 0x80, 0) << "server frames are not masked";
    std::uint64_t n = b1 & 0x7F;
    i += 2;
    if (n == 126) {
      n = (std::uint64_t{static_cast<std::uint8_t>(bytes[i])} << 8) | static_cast<std::uint8_t>(bytes[i + 1]);
      i += 2;
    } else if (n == 127) {
      n = 0;
      for (int k = 0; k < 8; ++k) n = (n << 8) | static_cast<std::uint8_t>(bytes[i + k]);
      i += 8;
    }
    out.push_back({(b0 & 0x80) != 0, (b0 & 0x40) != 0, b0 & 0x0F, std::string(bytes.substr(i, n))});
    i += n;
  }
  return out;
}

std::string concat(const std::vector<boost::asio::const_buffer>& buffers) {
  std::string out;
  for (const auto& b : buffers) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

TEST(Writer, HeadersUseTheMinimalLengthEncoding) {
  EXPECT_EQ(make_header(Opcode::kText, true, false, 0).size, 2);
  EXPECT_EQ(make_header(Opcode::kText, true, false, 125).size, 2);
  EXPECT_EQ(make_header(Opcode::kText, true, false, 126).size, 4);
  EXPECT_EQ(make_header(Opcode::kText, true, false, 65535).size, 4);
  EXPECT_EQ(make_header(Opcode::kText, true, false, 65536).size, 10);
  FrameHeader h = make_header(Opcode::kBinary, false, true, 0x0102030405ULL);
  EXPECT_EQ(h.bytes[0], 0x42);
  EXPECT_EQ(h.bytes[1], 127);
  EXPECT_EQ(h.bytes[5], 0x01);
  EXPECT_EQ(h.bytes[9], 0x05);
}

TEST(Writer, ClosePayloadCutsTheReasonAtACharacterBoundary) {
  std::string reason(121, 'a');
  reason += "\xe2\x82\xac";  // a three-byte character across byte 123
  std::string payload = close_payload(1001, reason);
  EXPECT_EQ(payload.size(), 2u + 121u);
  EXPECT_EQ(static_cast<std::uint8_t>(payload[0]), 0x03);
  EXPECT_EQ(static_cast<std::uint8_t>(payload[1]), 0xE9);
  EXPECT_TRUE(is_valid_utf8(std::string_view(payload).substr(2)));
}

TEST(Writer, PreparedMessageFragmentsWithOnlyTheLastFin) {
  auto m = PreparedMessage::make(Opcode::kText, std::string(3000, 'x'), {.fragment_bytes = 1300});
  OutboundQueue queue(1 << 20);
  ASSERT_TRUE(queue.push(m, false));
  std::vector<boost::asio::const_buffer> buffers;
  queue.gather(buffers);
  auto frames = decode(concat(buffers));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].opcode, 1);
  EXPECT_FALSE(frames[0].fin);
  EXPECT_EQ(frames[1].opcode, 0);
  EXPECT_FALSE(frames[1].fin);
  EXPECT_EQ(frames[2].opcode, 0);
  EXPECT_TRUE(frames[2].fin);
  EXPECT_EQ(frames[0].payload.size() + frames[1].payload.size() + frames[2].payload.size(), 3000u);
}

TEST(Writer, ControlFramesAreLimitedTo125Bytes) {
  EXPECT_THROW((void)PreparedMessage::make(Opcode::kPing, std::string(126, 'p')), std::invalid_argument);
  EXPECT_NO_THROW((void)PreparedMessage::make(Opcode::kPong, std::string(125, 'p')));
}

TEST(Writer, OneSharedMessageIsFramedOnceForEveryQueue) {
  auto m = PreparedMessage::make(Opcode::kText, "to everyone");
  OutboundQueue a(1024), b(1024);
  ASSERT_TRUE(a.push(m, false));
  ASSERT_TRUE(b.push(m, false));
  std::vector<boost::asio::const_buffer> ba, bb;
  a.gather(ba);
  b.gather(bb);
  ASSERT_EQ(ba.size(), 2u);
  // The very same payload bytes, not copies.
  EXPECT_EQ(ba[1].data(), bb[1].data());
  EXPECT_EQ(m.use_count(), 3);
}

TEST(Writer, QueuedFramesLeaveInOneGatheredWriteAndPartialWritesResume) {
  OutboundQueue queue(1 << 20);
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    auto m = PreparedMessage::make(Opcode::kText, "message " + std::to_string(i) + std::string(i * 100, '.'));
    ASSERT_TRUE(queue.push(m, false));
  }
  std::vector<boost::asio::const_buffer> buffers;
  queue.gather(buffers);
  EXPECT_EQ(buffers.size(), 10u);  // header and payload of each
  std::string all = concat(buffers);
  EXPECT_EQ(all.size(), queue.bytes());
  // Writes of odd sizes, as a socket may take them.
  std::string written;
  while (!queue.empty()) {
    buffers.clear();
    queue.gather(buffers, 3);
    std::string next = concat(buffers);
    std::size_t n = std::min<std::size_t>(next.size(), 7);
    written += next.substr(0, n);
    queue.consume(n);
  }
  EXPECT_EQ(written, all);
  auto frames = decode(written);
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[4].payload, "message 4" + std::string(400, '.'));
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(Writer, QueueRefusesWhatPassesItsLimitButNotControlFrames) {
  OutboundQueue queue(100);
  EXPECT_TRUE(queue.push(PreparedMessage::make(Opcode::kBinary, std::string(90, 'b')), false));
  EXPECT_FALSE(queue.push(PreparedMessage::make(Opcode::kBinary, std::string(10, 'b')), false));
  EXPECT_TRUE(queue.push(PreparedMessage::make(Opcode::kClose, close_payload(1000, "")), false, true));
}

TEST(Writer, CompressedFormIsMadeOnceAndInflatesBack) {
  DeflateOptions deflate;
  deflate.enabled = true;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "{\"type\":\"message.new\",\"seq\":" + std::to_string(i) + "}";
  auto m = PreparedMessage::make(Opcode::kText, text, {.deflate = &deflate});
  ASSERT_TRUE(m->has_compressed());
  EXPECT_LT(m->payload(true).size(), text.size() / 3);
  EXPECT_TRUE(m->frames(true)[0].header.bytes[0] & 0x40);  // RSV1
  Inflater inflater(15);
  std::string out;
  const std::string& c = m->payload(true);
  ASSERT_EQ(inflater.inflate(reinterpret_cast<const std::uint8_t*>(c.data()), c.size(), out, 1 << 20), Error::kOk);
  ASSERT_EQ(inflater.finish(out, 1 << 20), Error::kOk);
  EXPECT_EQ(out, text);
  // Short messages are not worth compressing.
  EXPECT_FALSE(PreparedMessage::make(Opcode::kText, "hi", {.deflate = &deflate})->has_compressed());
}

}  // namespace
}  // namespace parley::wsproto
