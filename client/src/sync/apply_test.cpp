#include "sync/apply.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "protocol/model.hpp"

namespace parley::sync {
namespace {

namespace json = boost::json;

json::object event(const std::string& text) { return json::parse(text).as_object(); }

std::string message_json(int id, int seq, const std::string& text, const std::string& reactions = "[]",
                         bool deleted = false) {
  return R"({"id":)" + std::to_string(id) + R"(,"conversation_id":7,"seq":)" + std::to_string(seq) +
         R"(,"position":1,"sender_id":2,"client_id":"c)" + std::to_string(id) + R"(","text":")" + text +
         R"(","reply_to":null,"mentions":[],"reactions":)" + reactions +
         R"(,"attachments":[],"created_at":100,"edited_at":null,"deleted":)" + (deleted ? "true" : "false") +
         R"(,"sticker":null})";
}

const char* kCreated =
    R"({"type":"conversation.created","conversation":{"id":7,"kind":"group","name":"g","topic":"","created_by":1,
    "created_at":1,"last_seq":0,"avatar_media_id":null,"members":[
    {"user":{"id":1,"username":"alice","display_name":"Alice","status_text":"","avatar_media_id":null},"role":"owner","joined_at":1,"read_seq":0,"delivered_seq":0},
    {"user":{"id":2,"username":"bob","display_name":"Bob","status_text":"","avatar_media_id":null},"role":"member","joined_at":1,"read_seq":0,"delivered_seq":0}]}})";

class ApplyTest : public ::testing::Test {
 protected:
  std::filesystem::path dir;
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-apply-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  static void apply_all(store::Store& store, const std::vector<std::string>& events, Applied* out = nullptr) {
    Applied applied;
    store::Store::Write write(store);
    for (const auto& text : events) apply_event(write, event(text), 1, applied);
    write.commit();
    if (out != nullptr) *out = std::move(applied);
  }
};

TEST_F(ApplyTest, LiveEventsTheCatchUpPathAndRepeatsGiveTheSameStore) {
  // Live: a message, its edit, a reaction, then its deletion.
  const std::vector<std::string> live{
      kCreated,
      R"({"type":"message.new","conversation_id":7,"message":)" + message_json(11, 1, "hello") + "}",
      R"({"type":"message.new","conversation_id":7,"message":)" + message_json(12, 2, "second") + "}",
      R"({"type":"message.edited","conversation_id":7,"message":)" + message_json(12, 2, "second, edited") + "}",
      R"({"type":"reaction.added","conversation_id":7,"message_id":11,"user_id":1,"emoji":"👍"})",
      R"({"type":"receipt.read","conversation_id":7,"user_id":1,"seq":2})",
      R"({"type":"message.deleted","conversation_id":7,"message_id":12,"seq":2,"by":2})",
  };
  // Catch-up: message.new rebuilt as the message is now, then the later
  // events replayed (docs/protocol.md "Catch-up payloads").
  const std::vector<std::string> catch_up{
      kCreated,
      R"({"type":"message.new","conversation_id":7,"message":)" +
          message_json(11, 1, "hello", R"([{"emoji":"👍","user_ids":[1]}])") + "}",
      R"({"type":"message.new","conversation_id":7,"message":)" + message_json(12, 2, "", "[]", true) + "}",
      R"({"type":"reaction.added","conversation_id":7,"message_id":11,"user_id":1,"emoji":"👍"})",
      R"({"type":"receipt.read","conversation_id":7,"user_id":1,"seq":2})",
      R"({"type":"message.deleted","conversation_id":7,"message_id":12,"seq":2,"by":2})",
  };
  store::Store a(dir / "a.db", std::nullopt);
  store::Store b(dir / "b.db", std::nullopt);
  for (const auto& text : live) apply_all(a, {text});
  apply_all(b, catch_up);
  EXPECT_EQ(a.canonical_dump(), b.canonical_dump());
  // Applying everything again changes nothing.
  apply_all(a, live);
  apply_all(b, live);
  EXPECT_EQ(a.canonical_dump(), b.canonical_dump());
  auto m = a.message(12);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->deleted);
  EXPECT_EQ(m->text, "");
  EXPECT_EQ(a.message(11)->reactions.size(), 1u);
  EXPECT_EQ(a.conversations(1)[0].read_seq, 2);
  EXPECT_TRUE(a.search("edited", 10, std::nullopt).empty());
}

TEST_F(ApplyTest, AMalformedEventOfAKnownTypeThrowsAndUnknownTypesAreSkipped) {
  store::Store store(dir / "s.db", std::nullopt);
  EXPECT_THROW(apply_all(store, {R"({"type":"message.new","conversation_id":7,"message":{"id":1}})"}),
               protocol::ProtocolError);
  EXPECT_THROW(apply_all(store, {R"({"type":"receipt.read","conversation_id":"7","user_id":1,"seq":2})"}),
               protocol::ProtocolError);
  EXPECT_NO_THROW(apply_all(store, {R"({"type":"something.new","whatever":[1,2,3]})"}));
  EXPECT_EQ(store.canonical_dump(), "");
}

TEST_F(ApplyTest, IncomingMessagesAreReportedOnceAndNotOwnOnes) {
  store::Store store(dir / "s.db", std::nullopt);
  Applied applied;
  const auto from_bob = R"({"type":"message.new","conversation_id":7,"message":)" + message_json(11, 1, "hi") + "}";
  apply_all(store, {kCreated, from_bob, from_bob}, &applied);
  ASSERT_EQ(applied.incoming.size(), 1u);
  EXPECT_EQ(applied.incoming[0].text, "hi");
  // Bob's send moved his read mark.
  EXPECT_EQ(store.members(7)[1].read_seq, 1);
}

}  // namespace
}  // namespace parley::sync
