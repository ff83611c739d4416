#include "ws/frame_handlers.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/validation.hpp"

namespace parley::ws {
namespace {

// The error a frame gets, with the ref it is answered with.
struct Refusal {
  ErrorCode code;
  std::string message;
  std::optional<std::string> ref;
};

Refusal refusal(std::string_view text) {
  std::optional<std::string> ref;
  try {
    (void)parse_client_frame(text, ref);
  } catch (const ApiError& e) {
    return {e.code(), e.what(), ref};
  }
  ADD_FAILURE() << "accepted: " << text;
  return {ErrorCode::kInternal, "", ref};
}

Request parsed(std::string_view text) {
  std::optional<std::string> ref;
  return parse_client_frame(text, ref);
}

TEST(FrameHandlersTest, EachTypeParsesIntoItsRequest) {
  std::optional<std::string> ref;
  auto send = parse_client_frame(
      R"({"type":"send","ref":"r1","conversation_id":3,"client_id":"c","text":"hi","reply_to":9})", ref);
  EXPECT_EQ(ref, "r1");
  const auto& s = std::get<SendRequest>(send).message;
  EXPECT_EQ(s.conversation_id, 3);
  EXPECT_EQ(s.client_id, "c");
  EXPECT_EQ(s.text, "hi");
  EXPECT_EQ(s.reply_to, 9);

  auto edit = std::get<EditRequest>(parsed(R"({"type":"edit","message_id":4,"text":"x"})"));
  EXPECT_EQ(edit.message_id, 4);
  EXPECT_EQ(edit.text, "x");
  EXPECT_EQ(std::get<DeleteRequest>(parsed(R"({"type":"delete","message_id":5})")).message_id, 5);
  auto react = std::get<ReactRequest>(parsed(R"({"type":"react","message_id":6,"emoji":"👍","remove":true})"));
  EXPECT_EQ(react.emoji, "👍");
  EXPECT_TRUE(react.remove);
  auto read = std::get<ReceiptRequest>(parsed(R"({"type":"read","conversation_id":1,"seq":2})"));
  EXPECT_TRUE(read.read);
  EXPECT_EQ(read.seq, 2);
  EXPECT_FALSE(std::get<ReceiptRequest>(parsed(R"({"type":"delivered","conversation_id":1,"seq":2})")).read);
  EXPECT_EQ(std::get<TypingRequest>(parsed(R"({"type":"typing","conversation_id":8})")).conversation_id, 8);
  EXPECT_TRUE(std::holds_alternative<PingRequest>(parsed(R"({"type":"ping"})")));
  EXPECT_EQ(frame_types().size(), 9U);
}

TEST(FrameHandlersTest, InvalidFramesGetTheDocumentedCodes) {
  EXPECT_EQ(refusal(R"({"type":"ping",)").code, ErrorCode::kMalformedRequest);
  EXPECT_EQ(refusal("[1]").code, ErrorCode::kValidationFailed);
  EXPECT_EQ(refusal(R"({"ref":"x"})").code, ErrorCode::kValidationFailed);
  auto r = refusal(R"({"type":"ping","ref":"r","extra":1})");
  EXPECT_EQ(r.code, ErrorCode::kValidationFailed);
  EXPECT_EQ(r.ref, "r") << "an error after the ref names the frame";
  EXPECT_EQ(refusal(R"({"type":"ping","ref":")" + std::string(65, 'r') + R"("})").ref, std::nullopt);
  EXPECT_EQ(refusal(R"({"type":"send","conversation_id":0,"client_id":"c","text":"x"})").code,
            ErrorCode::kValidationFailed);
  EXPECT_EQ(refusal(R"({"type":"hello","token":"t"})").code, ErrorCode::kConflict);
}

TEST(FrameHandlersTest, DuplicateKeysAreMalformed) {
  auto r = refusal(R"({"type":"send","conversation_id":1,"client_id":"c","text":"a","text":"b"})");
  EXPECT_EQ(r.code, ErrorCode::kMalformedRequest);
  EXPECT_NE(r.message.find("twice"), std::string::npos) << r.message;
  EXPECT_EQ(refusal(R"({"type":"ping","type":"ping"})").code, ErrorCode::kMalformedRequest);
}

TEST(FrameHandlersTest, AnUnknownTypeIsQuotedShortly) {
  std::string type(5000, 'A');
  auto r = refusal(R"({"type":")" + type + R"("})");
  EXPECT_EQ(r.code, ErrorCode::kValidationFailed);
  EXPECT_LT(r.message.size(), 100U) << r.message;
  EXPECT_NE(r.message.find(std::string(32, 'A') + "\u2026"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find(std::string(33, 'A')), std::string::npos) << r.message;
  auto shout = refusal(R"({"type":"shout"})");
  EXPECT_EQ(shout.message, "type: unknown frame type 'shout'");
}

TEST(FrameHandlersTest, QuoteForErrorCutsOnCharacterBoundaries) {
  EXPECT_EQ(quote_for_error("short"), "short");
  EXPECT_EQ(quote_for_error(std::string(32, 'x')), std::string(32, 'x'));
  EXPECT_EQ(quote_for_error(std::string(33, 'x')), std::string(32, 'x') + "\u2026");
  // 31 ASCII bytes then a 2-byte character: the character does not fit whole.
  std::string text = std::string(31, 'x') + "\xc3\xa9" + "y";
  EXPECT_EQ(quote_for_error(text), std::string(31, 'x') + "\u2026");
  EXPECT_EQ(quote_for_error("a\xff"
                            "b"),
            "a?b");
  EXPECT_EQ(quote_for_error("\xe2\x82"), "??") << "a truncated sequence";
  for (std::string s : {std::string(100, '\xff'), std::string(40, '\xe2'), std::string("\xf0\x9f\x98\x80") + "x"}) {
    EXPECT_TRUE(validation::is_valid_utf8(quote_for_error(s, 5)));
  }
}

TEST(FrameHandlersTest, Hello) {
  auto hello = parse_hello(R"({"type":"hello","token":"t","position":3})");
  EXPECT_EQ(hello.token, "t");
  EXPECT_EQ(hello.position, 3);
  EXPECT_THROW((void)parse_hello(R"({"type":"ping"})"), ApiError);
  EXPECT_THROW((void)parse_hello(R"({"type":"hello","position":-1})"), ApiError);
  try {
    (void)parse_hello(R"({"type":"hello","token":"a","token":"b"})");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kMalformedRequest);
  }
}

TEST(FrameHandlersTest, SendTakesAttachmentsAndThenMayHaveNoText) {
  // A send frame with `fields` after its conversation and client id.
  auto send = [](const std::string& fields) {
    return R"({"type":"send","conversation_id":3,"client_id":"c")" + fields + "}";
  };
  auto files = std::get<SendRequest>(parsed(send(R"(,"attachments":["b","a"])")));
  EXPECT_EQ(files.message.text, "");
  EXPECT_EQ(files.message.attachments, (std::vector<std::string>{"b", "a"}));
  auto both = std::get<SendRequest>(parsed(send(R"(,"text":"hi","attachments":[])")));
  EXPECT_EQ(both.message.text, "hi");
  EXPECT_TRUE(both.message.attachments.empty());

  for (const char* fields : {
           "",                                     // neither text nor files
           R"(,"attachments":[])",                 // neither
           R"(,"text":" ","attachments":["a"])",   // blank text
           R"(,"attachments":["a","a"])",          // the same file twice
           R"(,"attachments":"a")",                // not an array
           R"(,"attachments":[1])",                // not strings
           R"(,"attachments":[{"id":"a"}])",       // not strings
           R"(,"attachments":null)",               // not an array
           R"(,"attachments":["1","2","3","4","5","6","7","8","9","10","11"])",  // more than 10
       }) {
    EXPECT_EQ(refusal(send(fields)).code, ErrorCode::kValidationFailed) << fields;
  }
}

}  // namespace
}  // namespace parley::ws

namespace parley::ws {
namespace {

TEST(FrameHandlersTest, ASendMayCarryAStickerInsteadOfText) {
  auto sticker = std::get<SendRequest>(parsed(R"({"type":"send","conversation_id":3,"client_id":"c","sticker":7})"));
  EXPECT_EQ(sticker.message.sticker, 7);
  EXPECT_EQ(sticker.message.text, "");
  EXPECT_EQ(std::get<SendRequest>(parsed(R"({"type":"send","conversation_id":3,"client_id":"c","text":"",)"
                                         R"("sticker":7})"))
                .message.sticker,
            7);
  EXPECT_EQ(refusal(R"({"type":"send","conversation_id":3,"client_id":"c","text":"hi","sticker":7})").code,
            ErrorCode::kValidationFailed);
  EXPECT_EQ(refusal(R"({"type":"send","conversation_id":3,"client_id":"c","sticker":0})").code,
            ErrorCode::kValidationFailed);
  // Without a sticker, text stays required.
  EXPECT_EQ(refusal(R"({"type":"send","conversation_id":3,"client_id":"c"})").code, ErrorCode::kValidationFailed);
  // A sticker message carries no files either.
  auto both = refusal(R"({"type":"send","conversation_id":3,"client_id":"c","sticker":7,"attachments":["a"]})");
  EXPECT_EQ(both.code, ErrorCode::kValidationFailed);
  EXPECT_NE(both.message.find("attachments"), std::string::npos) << both.message;
}

}  // namespace
}  // namespace parley::ws
