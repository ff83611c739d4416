// Own profile, settings, conversation mutes and public profiles: what PATCH
// accepts and rejects (a rejected request changes nothing), how request bodies
// are checked (415, 400, 422), and that every endpoint needs a token.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

using boost::json::object;
using boost::json::value;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `count` copies of `piece` (for text measured in code points, not bytes).
std::string repeat(const std::string& piece, std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) text += piece;
  return text;
}

const std::string kGrinningFace = "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes in UTF-8

class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override { alice = register_and_login(client, "alice"); }

  // GET /api/v1/me as alice, as raw text so that any change is visible.
  std::string me_body() const {
    auto reply = client.get("/api/v1/me", alice.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.body;
  }

  std::string settings_body() const {
    auto reply = client.get("/api/v1/me/settings", alice.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.body;
  }

  value settings() const { return value(boost::json::parse(settings_body())).at("settings"); }

  // PATCHes /api/v1/me with a raw body; expects 422 validation_failed and the
  // profile unchanged.
  void expect_patch_me_rejected(const std::string& raw_body) const {
    std::string before = me_body();
    auto reply = client.request("PATCH", "/api/v1/me", raw_body, alice.token);
    EXPECT_EQ(reply.status, 422) << raw_body << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "validation_failed") << raw_body << " -> " << reply.body;
    EXPECT_EQ(me_body(), before) << raw_body;
  }
  void expect_patch_me_rejected(const object& body) const { expect_patch_me_rejected(boost::json::serialize(body)); }

  void expect_patch_settings_rejected(const object& body) const {
    std::string before = settings_body();
    auto reply = client.patch("/api/v1/me/settings", body, alice.token);
    EXPECT_EQ(reply.status, 422) << boost::json::serialize(body) << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "validation_failed") << reply.body;
    EXPECT_EQ(settings_body(), before) << boost::json::serialize(body);
  }

  ServerProcess server;
  HttpClient client{server.port()};
  TestUser alice;
};

// --- GET /api/v1/me ---------------------------------------------------------

TEST_F(ProfileTest, GetMeReturnsTheFullOwnProfile) {
  auto before = now_ms();
  auto reply = client.get("/api/v1/me", alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.headers["content-type"].find("application/json"), std::string::npos);
  auto user = reply.json().at("user").as_object();
  EXPECT_EQ(user.at("id").as_int64(), alice.id);
  EXPECT_EQ(user.at("username"), "alice");
  EXPECT_EQ(user.at("display_name"), "User alice");
  EXPECT_EQ(user.at("status_text"), "");
  EXPECT_TRUE(user.at("avatar_media_id").is_null());
  ASSERT_TRUE(user.contains("created_at"));
  EXPECT_GT(user.at("created_at").as_int64(), before - 60'000);
  EXPECT_LE(user.at("created_at").as_int64(), now_ms());
}

// --- PATCH /api/v1/me: accepted changes ---------------------------------------

TEST_F(ProfileTest, PatchMeChangesOnlyTheGivenFields) {
  auto reply = client.patch("/api/v1/me", object{{"display_name", "Alice Liddell"}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("user").at("display_name"), "Alice Liddell");
  EXPECT_EQ(reply.json().at("user").at("status_text"), "");

  reply = client.patch("/api/v1/me", object{{"status_text", "down the rabbit hole"}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("user").at("display_name"), "Alice Liddell");  // kept
  EXPECT_EQ(reply.json().at("user").at("status_text"), "down the rabbit hole");

  auto me = client.get("/api/v1/me", alice.token).json().at("user");
  EXPECT_EQ(me.at("display_name"), "Alice Liddell");
  EXPECT_EQ(me.at("status_text"), "down the rabbit hole");
  EXPECT_EQ(me.at("username"), "alice");  // not patchable, unchanged

  // An empty patch is allowed and changes nothing.
  std::string before = me_body();
  reply = client.patch("/api/v1/me", object{}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(me_body(), before);
}

TEST_F(ProfileTest, StatusTextCanBeClearedWithEmptyString) {
  ASSERT_EQ(client.patch("/api/v1/me", object{{"status_text", "busy"}}, alice.token).status, 200);
  auto reply = client.patch("/api/v1/me", object{{"status_text", ""}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("user").at("status_text"), "");
  EXPECT_EQ(client.get("/api/v1/me", alice.token).json().at("user").at("status_text"), "");
}

TEST_F(ProfileTest, LengthLimitsAreInclusiveAndCountedInCodePoints) {
  auto reply = client.patch("/api/v1/me", object{{"display_name", std::string(64, 'a')}}, alice.token);
  EXPECT_EQ(reply.status, 200) << reply.body;
  reply = client.patch("/api/v1/me", object{{"status_text", std::string(140, 's')}}, alice.token);
  EXPECT_EQ(reply.status, 200) << reply.body;

  // 64 emoji are 256 bytes but 64 characters.
  std::string emoji_name = repeat(kGrinningFace, 64);
  reply = client.patch("/api/v1/me", object{{"display_name", emoji_name}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("user").at("display_name"), value(emoji_name));
  EXPECT_EQ(client.get("/api/v1/me", alice.token).json().at("user").at("display_name"), value(emoji_name));

  // 140 two-byte characters in a status.
  std::string accented = repeat("\xC3\xA9", 140);
  reply = client.patch("/api/v1/me", object{{"status_text", accented}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("user").at("status_text"), value(accented));

  // One more code point is one too many, whatever the byte count.
  expect_patch_me_rejected(object{{"display_name", repeat(kGrinningFace, 65)}});
  expect_patch_me_rejected(object{{"status_text", repeat("\xC3\xA9", 141)}});
}

TEST_F(ProfileTest, AvatarCanBeClearedButNotSetWithoutMedia) {
  auto reply = client.patch("/api/v1/me", object{{"avatar_media_id", nullptr}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(reply.json().at("user").at("avatar_media_id").is_null());

  // No media has been uploaded, so no id can refer to one.
  expect_patch_me_rejected(object{{"avatar_media_id", "m_0123456789"}});
  expect_patch_me_rejected(object{{"avatar_media_id", ""}});
  expect_patch_me_rejected(object{{"avatar_media_id", 17}});
  EXPECT_TRUE(client.get("/api/v1/me", alice.token).json().at("user").at("avatar_media_id").is_null());
}

// --- PATCH /api/v1/me: rejected changes -------------------------------------

TEST_F(ProfileTest, InvalidDisplayNamesAreRejectedAndChangeNothing) {
  expect_patch_me_rejected(object{{"display_name", ""}});
  expect_patch_me_rejected(object{{"display_name", std::string(65, 'a')}});
  expect_patch_me_rejected(object{{"display_name", "line\nbreak"}});
  expect_patch_me_rejected(object{{"display_name", "tab\there"}});
  expect_patch_me_rejected(object{{"display_name", "bell\a"}});
  expect_patch_me_rejected(object{{"display_name", "delete\x7f"}});
  expect_patch_me_rejected(object{{"display_name", "escape\x1b[31m"}});
  expect_patch_me_rejected(R"({"display_name":"nul\u0000byte"})");
}

TEST_F(ProfileTest, InvalidStatusTextIsRejectedAndChangesNothing) {
  ASSERT_EQ(client.patch("/api/v1/me", object{{"status_text", "original"}}, alice.token).status, 200);
  expect_patch_me_rejected(object{{"status_text", std::string(141, 's')}});
  expect_patch_me_rejected(object{{"status_text", "two\nlines"}});
  EXPECT_EQ(client.get("/api/v1/me", alice.token).json().at("user").at("status_text"), "original");
}

// A patch is all or nothing: a valid field next to an invalid one is not
// applied either.
TEST_F(ProfileTest, PatchWithOneInvalidFieldAppliesNone) {
  expect_patch_me_rejected(object{{"display_name", "Valid Name"}, {"status_text", std::string(141, 's')}});
  expect_patch_me_rejected(object{{"status_text", "valid status"}, {"display_name", ""}});
  expect_patch_me_rejected(object{{"display_name", "Valid Name"}, {"avatar_media_id", "nope"}});
  expect_patch_me_rejected(object{{"display_name", "Valid Name"}, {"nickname", "x"}});
  auto me = client.get("/api/v1/me", alice.token).json().at("user");
  EXPECT_EQ(me.at("display_name"), "User alice");
  EXPECT_EQ(me.at("status_text"), "");
}

// C1 controls (U+0080..U+009F) are control characters too; U+009B is the
// 8-bit CSI that starts terminal escape sequences, U+0085 is NEL (a newline).
TEST_F(ProfileTest, C1ControlCharactersAreRejected) {
  expect_patch_me_rejected(object{{"display_name", "csi\xC2\x9B" "31m"}});
  expect_patch_me_rejected(object{{"display_name", "next\xC2\x85line"}});
  expect_patch_me_rejected(object{{"status_text", "pad\xC2\x80"}});
}

TEST_F(ProfileTest, WrongTypesAndUnknownFieldsAreRejected) {
  expect_patch_me_rejected(object{{"display_name", 5}});
  expect_patch_me_rejected(object{{"display_name", nullptr}});  // not clearable: a name is required
  expect_patch_me_rejected(object{{"display_name", true}});
  expect_patch_me_rejected(object{{"display_name", boost::json::array{"a"}}});
  expect_patch_me_rejected(object{{"status_text", 1.5}});
  expect_patch_me_rejected(object{{"status_text", object{{"text", "x"}}}});
  expect_patch_me_rejected(object{{"nickname", "ally"}});
  expect_patch_me_rejected(object{{"username", "mallory"}});
  expect_patch_me_rejected(object{{"created_at", 0}});
}

// --- Request bodies ------------------------------------------------------------

TEST_F(ProfileTest, InvalidUtf8InsideAJsonStringIsRejected) {
  expect_patch_me_rejected("{\"display_name\":\"bad\xff\"}");
  expect_patch_me_rejected("{\"status_text\":\"truncated \xc3\"}");
  expect_patch_me_rejected("{\"display_name\":\"overlong \xc0\xaf\"}");
  expect_patch_me_rejected("{\"display_name\":\"surrogate \xed\xa0\x80\"}");
  expect_patch_me_rejected("{\"display_name\":\"too big \xf4\x90\x80\x80\"}");
}

// The error message names the offending field; when that field name is itself
// invalid UTF-8, the error body must still be valid JSON.
TEST_F(ProfileTest, InvalidUtf8InAFieldNameGivesAValidJsonError) {
  std::string before = me_body();
  auto reply = client.request("PATCH", "/api/v1/me", "{\"nick\xffname\":\"x\"}", alice.token);
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_EQ(reply.error_code(), "validation_failed") << reply.body;
  EXPECT_NO_THROW((void)reply.json()) << reply.body;
  EXPECT_EQ(me_body(), before);
}

TEST_F(ProfileTest, MalformedJsonIsBadRequest) {
  std::string before = me_body();
  for (const std::string body : {"{\"display_name\": ", "{display_name: \"x\"}", "{\"display_name\":\"x\"} trailing",
                                 "{\"display_name\":\"x\",}", "{'display_name':'x'}"}) {
    auto reply = client.request("PATCH", "/api/v1/me", body, alice.token);
    EXPECT_EQ(reply.status, 400) << body << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "malformed_request") << body << " -> " << reply.body;
  }
  // An empty body declared as JSON is not JSON either.
  auto empty = client.request("PATCH", "/api/v1/me", "", alice.token, "", {{"Content-Type", "application/json"}});
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_EQ(empty.error_code(), "malformed_request");
  // Nesting is bounded.
  std::string deep = "{\"display_name\":" + std::string(40, '[') + std::string(40, ']') + "}";
  auto nested = client.request("PATCH", "/api/v1/me", deep, alice.token);
  EXPECT_EQ(nested.status, 400) << nested.body;
  EXPECT_EQ(nested.error_code(), "malformed_request");
  EXPECT_EQ(me_body(), before);
}

TEST_F(ProfileTest, NonJsonContentTypeIsUnsupportedMediaType) {
  std::string before = me_body();
  const std::string body = R"({"display_name":"Changed"})";
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", "application/jsonp",
                                 "application/json-patch+json"}) {
    auto reply = client.request("PATCH", "/api/v1/me", body, alice.token, type);
    EXPECT_EQ(reply.status, 415) << type << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "unsupported_media_type") << type;
  }
  auto missing = client.request("PATCH", "/api/v1/me", body, alice.token, "");
  EXPECT_EQ(missing.status, 415) << missing.body;
  EXPECT_EQ(me_body(), before);

  // Parameters and case do not matter.
  auto charset = client.request("PATCH", "/api/v1/me", body, alice.token, "Application/JSON; charset=utf-8");
  ASSERT_EQ(charset.status, 200) << charset.body;
  EXPECT_EQ(charset.json().at("user").at("display_name"), "Changed");
}

TEST_F(ProfileTest, BodyThatIsNotAnObjectIsUnprocessable) {
  for (const std::string body : {"[]", "\"x\"", "null", "42", "true", "[{\"display_name\":\"x\"}]"}) {
    expect_patch_me_rejected(body);
  }
}

// --- Settings ----------------------------------------------------------------

TEST_F(ProfileTest, SettingsHaveDefaults) {
  auto reply = client.get("/api/v1/me/settings", alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto settings = reply.json().at("settings");
  EXPECT_EQ(settings.at("last_seen_visibility"), "contacts");
  EXPECT_EQ(settings.at("notifications_enabled"), true);
  EXPECT_TRUE(settings.at("conversation_mutes").as_array().empty());
}

TEST_F(ProfileTest, LastSeenVisibilityTakesEachValue) {
  for (const std::string visibility : {"everyone", "nobody", "contacts", "everyone"}) {
    auto reply = client.patch("/api/v1/me/settings", object{{"last_seen_visibility", visibility}}, alice.token);
    ASSERT_EQ(reply.status, 200) << visibility << " -> " << reply.body;
    EXPECT_EQ(reply.json().at("settings").at("last_seen_visibility"), visibility.c_str());
    EXPECT_EQ(settings().at("last_seen_visibility"), visibility.c_str());
    EXPECT_EQ(settings().at("notifications_enabled"), true);  // untouched
  }
}

TEST_F(ProfileTest, NotificationsCanBeTurnedOffAndOn) {
  auto reply = client.patch("/api/v1/me/settings", object{{"notifications_enabled", false}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("settings").at("notifications_enabled"), false);
  EXPECT_EQ(settings().at("notifications_enabled"), false);
  EXPECT_EQ(settings().at("last_seen_visibility"), "contacts");  // untouched

  reply = client.patch("/api/v1/me/settings", object{{"notifications_enabled", true}, {"last_seen_visibility", "nobody"}},
                       alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(settings().at("notifications_enabled"), true);
  EXPECT_EQ(settings().at("last_seen_visibility"), "nobody");
}

TEST_F(ProfileTest, InvalidSettingsAreRejectedAndChangeNothing) {
  ASSERT_EQ(client.patch("/api/v1/me/settings", object{{"last_seen_visibility", "nobody"}, {"notifications_enabled", false}},
                         alice.token)
                .status,
            200);
  expect_patch_settings_rejected(object{{"last_seen_visibility", "friends"}});
  expect_patch_settings_rejected(object{{"last_seen_visibility", "Everyone"}});
  expect_patch_settings_rejected(object{{"last_seen_visibility", ""}});
  expect_patch_settings_rejected(object{{"last_seen_visibility", 0}});
  expect_patch_settings_rejected(object{{"last_seen_visibility", nullptr}});
  expect_patch_settings_rejected(object{{"notifications_enabled", "yes"}});
  expect_patch_settings_rejected(object{{"notifications_enabled", 1}});
  expect_patch_settings_rejected(object{{"notifications_enabled", nullptr}});
  expect_patch_settings_rejected(object{{"sound", true}});
  // All or nothing here too.
  expect_patch_settings_rejected(object{{"notifications_enabled", true}, {"last_seen_visibility", "friends"}});
  expect_patch_settings_rejected(object{{"last_seen_visibility", "everyone"}, {"notifications_enabled", "on"}});
  expect_patch_settings_rejected(object{{"last_seen_visibility", "everyone"}, {"sound", true}});
  EXPECT_EQ(settings().at("last_seen_visibility"), "nobody");
  EXPECT_EQ(settings().at("notifications_enabled"), false);

  auto text = client.request("PATCH", "/api/v1/me/settings", R"({"notifications_enabled":true})", alice.token,
                             "text/plain");
  EXPECT_EQ(text.status, 415);
  auto malformed = client.request("PATCH", "/api/v1/me/settings", "{", alice.token);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.error_code(), "malformed_request");
  EXPECT_EQ(settings().at("notifications_enabled"), false);
}

// --- Conversation mutes -------------------------------------------------------

TEST_F(ProfileTest, MuteAppearsInSettingsUntilDeleted) {
  // Two groups of alice's own; mutes are listed by conversation id.
  std::int64_t small = create_group(client, alice, "first", {});
  std::int64_t big = create_group(client, alice, "second", {});
  std::string big_path = "/api/v1/me/settings/mutes/" + std::to_string(big);
  std::int64_t until = now_ms() + 3'600'000;
  auto reply = client.put(big_path, object{{"muted_until", until}}, alice.token);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("conversation_id").as_int64(), big);
  EXPECT_EQ(reply.json().at("muted_until").as_int64(), until);

  auto mutes = settings().at("conversation_mutes").as_array();
  ASSERT_EQ(mutes.size(), 1U);
  EXPECT_EQ(mutes[0].at("conversation_id").as_int64(), big);
  EXPECT_EQ(mutes[0].at("muted_until").as_int64(), until);

  // PUT again replaces the time; it does not add a second mute.
  std::int64_t later = until + 86'400'000;
  ASSERT_EQ(client.put(big_path, object{{"muted_until", later}}, alice.token).status, 200);
  ASSERT_EQ(client.put("/api/v1/me/settings/mutes/" + std::to_string(small), object{{"muted_until", until}}, alice.token).status, 200);
  mutes = settings().at("conversation_mutes").as_array();
  ASSERT_EQ(mutes.size(), 2U);
  EXPECT_EQ(mutes[0].at("conversation_id").as_int64(), small);
  EXPECT_EQ(mutes[1].at("conversation_id").as_int64(), big);
  EXPECT_EQ(mutes[1].at("muted_until").as_int64(), later);

  auto del = client.del(big_path, alice.token);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_TRUE(del.body.empty());
  auto again = client.del(big_path, alice.token);
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(again.error_code(), "not_found");
  mutes = settings().at("conversation_mutes").as_array();
  ASSERT_EQ(mutes.size(), 1U);
  EXPECT_EQ(mutes[0].at("conversation_id").as_int64(), small);
}

TEST_F(ProfileTest, MutesArePerUser) {
  auto bob = register_and_login(client, "bob");
  std::string path = "/api/v1/me/settings/mutes/" + std::to_string(create_group(client, alice, "mine", {}));
  ASSERT_EQ(client.put(path, object{{"muted_until", now_ms() + 60'000}}, alice.token).status,
            200);
  auto bob_settings = client.get("/api/v1/me/settings", bob.token);
  ASSERT_EQ(bob_settings.status, 200);
  EXPECT_TRUE(bob_settings.json().at("settings").at("conversation_mutes").as_array().empty());
  EXPECT_EQ(client.del(path, bob.token).status, 404);
  EXPECT_EQ(settings().at("conversation_mutes").as_array().size(), 1U);  // bob did not delete alice's
}

TEST_F(ProfileTest, MutingAConversationYouAreNotInIsNotFound) {
  auto bob = register_and_login(client, "bob");
  auto group = create_group(client, bob, "bobs", {});
  auto reply = client.put("/api/v1/me/settings/mutes/" + std::to_string(group),
                          object{{"muted_until", now_ms() + 60'000}}, alice.token);
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.error_code(), "not_found");
  EXPECT_EQ(client.put("/api/v1/me/settings/mutes/999999", object{{"muted_until", now_ms() + 60'000}}, alice.token).status,
            404);
  EXPECT_TRUE(settings().at("conversation_mutes").as_array().empty());
}

TEST_F(ProfileTest, InvalidMutesAreRejected) {
  auto expect_rejected = [&](const std::string& raw_body) {
    auto reply = client.request("PUT", "/api/v1/me/settings/mutes/42", raw_body, alice.token);
    EXPECT_EQ(reply.status, 422) << raw_body << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "validation_failed") << raw_body;
  };
  std::int64_t future = now_ms() + 3'600'000;
  expect_rejected(boost::json::serialize(object{{"muted_until", now_ms() - 1000}}));  // past
  expect_rejected(R"({"muted_until":0})");
  expect_rejected(R"({"muted_until":-5})");
  expect_rejected("{}");                                                               // missing
  expect_rejected(R"({"muted_until":null})");
  expect_rejected(R"({"muted_until":"tomorrow"})");
  expect_rejected(R"({"muted_until":1.5e15})");
  expect_rejected(R"({"muted_until":18446744073709551615})");  // beyond int64
  expect_rejected(boost::json::serialize(object{{"muted_until", future}, {"forever", true}}));
  expect_rejected("[]");
  EXPECT_TRUE(settings().at("conversation_mutes").as_array().empty());

  auto text = client.request("PUT", "/api/v1/me/settings/mutes/42",
                             boost::json::serialize(object{{"muted_until", future}}), alice.token, "text/plain");
  EXPECT_EQ(text.status, 415);
  EXPECT_TRUE(settings().at("conversation_mutes").as_array().empty());
}

TEST_F(ProfileTest, MalformedConversationIdsAreNotFound) {
  object body{{"muted_until", now_ms() + 60'000}};
  for (const std::string id : {"abc", "0", "-1", "1.5", "12abc", "99999999999999999999", "%20"}) {
    auto put = client.put("/api/v1/me/settings/mutes/" + id, body, alice.token);
    EXPECT_EQ(put.status, 404) << id << " -> " << put.body;
    EXPECT_EQ(put.error_code(), "not_found") << id;
    auto del = client.del("/api/v1/me/settings/mutes/" + id, alice.token);
    EXPECT_EQ(del.status, 404) << id << " -> " << del.body;
  }
  EXPECT_TRUE(settings().at("conversation_mutes").as_array().empty());
}

// --- Public profiles -----------------------------------------------------------

TEST_F(ProfileTest, PublicProfileIsCaseInsensitiveAndHidesPrivateFields) {
  ASSERT_EQ(client.patch("/api/v1/me", object{{"display_name", "Alice L."}, {"status_text", "hi"}}, alice.token).status,
            200);
  auto bob = register_and_login(client, "bob");
  for (const std::string name : {"alice", "ALICE", "aLiCe"}) {
    auto reply = client.get("/api/v1/users/" + name, bob.token);
    ASSERT_EQ(reply.status, 200) << name << " -> " << reply.body;
    auto user = reply.json().at("user").as_object();
    EXPECT_EQ(user.at("id").as_int64(), alice.id);
    EXPECT_EQ(user.at("username"), "alice");
    EXPECT_EQ(user.at("display_name"), "Alice L.");
    EXPECT_EQ(user.at("status_text"), "hi");
    EXPECT_TRUE(user.at("avatar_media_id").is_null());
    EXPECT_FALSE(user.contains("created_at")) << reply.body;
    EXPECT_FALSE(user.contains("last_seen_visibility")) << reply.body;
    EXPECT_FALSE(user.contains("notifications_enabled")) << reply.body;
    EXPECT_FALSE(user.contains("password_hash")) << reply.body;
    EXPECT_EQ(user.size(), 5U) << reply.body;
  }
}

TEST_F(ProfileTest, UnknownAndImpossibleUsernamesAreNotFound) {
  for (const std::string& name : std::vector<std::string>{"nobody", "al", "alice!", "1alice", "_alice", "al%20ice",
                                                         "%61lice%00", std::string(33, 'a'), "%C3%A9lise"}) {
    auto reply = client.get("/api/v1/users/" + name, alice.token);
    EXPECT_EQ(reply.status, 404) << name << " -> " << reply.body;
    EXPECT_EQ(reply.error_code(), "not_found") << name;
  }
}

// --- Authentication --------------------------------------------------------------

TEST_F(ProfileTest, EveryEndpointNeedsAValidToken) {
  std::string before = me_body();
  std::string settings_before = settings_body();
  std::int64_t future = now_ms() + 60'000;
  struct Call {
    std::string method, target, body;
  };
  const std::vector<Call> calls = {
      {"GET", "/api/v1/me", ""},
      {"PATCH", "/api/v1/me", R"({"display_name":"Hacked"})"},
      {"PATCH", "/api/v1/me", "not json at all"},  // authentication comes before the body
      {"GET", "/api/v1/me/settings", ""},
      {"PATCH", "/api/v1/me/settings", R"({"notifications_enabled":false})"},
      {"PUT", "/api/v1/me/settings/mutes/42", boost::json::serialize(object{{"muted_until", future}})},
      {"DELETE", "/api/v1/me/settings/mutes/42", ""},
      {"GET", "/api/v1/users/alice", ""},
      {"GET", "/api/v1/users/nobody", ""},
  };
  for (const auto& call : calls) {
    for (const std::string token : {"", "not-a-real-token"}) {
      auto reply = client.request(call.method, call.target, call.body, token);
      EXPECT_EQ(reply.status, 401) << call.method << " " << call.target << " token='" << token << "' -> " << reply.body;
      EXPECT_EQ(reply.error_code(), "unauthorized") << call.method << " " << call.target;
    }
  }
  EXPECT_EQ(me_body(), before);
  EXPECT_EQ(settings_body(), settings_before);

  // A logged-out token is no better.
  ASSERT_EQ(client.del("/api/v1/sessions/current", alice.token).status, 204);
  EXPECT_EQ(client.get("/api/v1/me", alice.token).status, 401);
  EXPECT_EQ(client.patch("/api/v1/me", object{{"display_name", "Ghost"}}, alice.token).status, 401);
  EXPECT_EQ(client.get("/api/v1/me/settings", alice.token).status, 401);
}

}  // namespace
}  // namespace parley::test
