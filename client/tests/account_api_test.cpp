// The account's own data through the facade, against the real parleyd:
// profile and avatar, settings and mutes, sessions (list, revoke), password,
// two-factor login (TOTP codes computed here, RFC 6238), sticker packs and
// sticker messages, personal data export, account deletion.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"
#include "support/media_client.hpp"

namespace parley::test {
namespace {

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `step` periods from now.
std::string totp(const std::string& secret, int step = 0) {
  std::string key;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : secret) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    if (c >= 'a' && c <= 'z') value = c - 'a';
    if (c >= '2' && c <= '7') value = c - '2' + 26;
    if (value < 0) continue;
    buffer = (buffer << 5) | static_cast<unsigned>(value);
    bits += 5;
    if (bits >= 8) {
      key += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const auto counter = static_cast<std::uint64_t>(std::time(nullptr) / 30 + step);
  unsigned char message[8];
  for (int i = 0; i < 8; ++i) message[i] = static_cast<unsigned char>(counter >> (56 - 8 * i));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), message, sizeof message, digest, &length);
  const int offset = digest[length - 1] & 0x0f;
  const std::uint32_t code = ((digest[offset] & 0x7fu) << 24) | (digest[offset + 1] << 16) |
                             (digest[offset + 2] << 8) | digest[offset + 3];
  char text[8];
  std::snprintf(text, sizeof text, "%06u", code % 1000000);
  return text;
}

class AccountApiTest : public ::testing::Test {
 protected:
  explicit AccountApiTest(ServerOptions options = {}) : server(std::move(options)) {}
  ServerProcess server;
  HttpClient http{server.port()};
  TestUser alice = register_and_login(http, "alice");
  TestUser bob = register_and_login(http, "bob");
  TempDir dir;
  Runtime runtime;
};

TEST_F(AccountApiTest, ProfileAvatarSettingsAndMutes) {
  make_contacts(http, alice, bob);
  const auto direct = direct_conversation(http, alice, bob);
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);

  auto updated = await_result<User>([&](auto done) { account->update_profile("Alice A.", "on holiday", done); });
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated.value().display_name, "Alice A.");
  EXPECT_EQ(account->me()->status_text, "on holiday");  // stored
  auto seen = await_result<User>([&](auto done) { account->lookup_user("alice", done); });
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen.value().display_name, "Alice A.");
  // Bad input: a display name the server refuses changes nothing.
  auto refused = await_result<User>([&](auto done) { account->update_profile(std::string(300, 'x'), {}, done); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::validation_failed);
  EXPECT_EQ(account->me()->display_name, "Alice A.");

  std::ofstream(dir / "me.png", std::ios::binary) << kTinyPng;
  auto with_avatar = await_result<User>([&](auto done) { account->set_avatar(dir / "me.png", done); });
  ASSERT_TRUE(with_avatar) << with_avatar.error().message;
  ASSERT_TRUE(with_avatar.value().avatar_media_id.has_value());
  EXPECT_EQ(http.get("/api/v1/media/" + *with_avatar.value().avatar_media_id, bob.token).body, kTinyPng);
  EXPECT_TRUE(account->pending_uploads().empty());  // an avatar is not a message
  auto without = await_result<User>([&](auto done) { account->remove_avatar(done); });
  ASSERT_TRUE(without);
  EXPECT_FALSE(without.value().avatar_media_id.has_value());

  ASSERT_TRUE(await_result<Done>([&](auto done) { account->set_last_seen_visibility(LastSeenVisibility::nobody, done); }));
  const Millis until = 4'000'000'000'000;
  ASSERT_TRUE(await_result<Done>([&](auto done) { account->mute(direct, until, done); }));
  auto settings = await_result<Settings>([&](auto done) { account->settings(done); });
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings.value().last_seen, LastSeenVisibility::nobody);
  ASSERT_EQ(settings.value().mutes.size(), 1u);
  EXPECT_EQ(settings.value().mutes.front(), std::make_pair(direct, until));
  EXPECT_EQ(account->conversation(direct)->muted_until, until);
  ASSERT_TRUE(await_result<Done>([&](auto done) { account->unmute(direct, done); }));
  EXPECT_FALSE(account->conversation(direct)->muted_until.has_value());
  settings = await_result<Settings>([&](auto done) { account->settings(done); });
  ASSERT_TRUE(settings);
  EXPECT_TRUE(settings.value().mutes.empty());
}

TEST_F(AccountApiTest, SessionsAreListedAndRevokedAndThePasswordChanges) {
  auto one = std::make_shared<Recorder>();
  auto two = std::make_shared<Recorder>();
  auto three = std::make_shared<Recorder>();
  auto first = signed_in_account(runtime, dir / "one", server.port(), alice, one);
  auto second = signed_in_account(runtime, dir / "two", server.port(), alice, two);
  auto sessions = await_result<std::vector<SessionInfo>>([&](auto done) { first->sessions(done); });
  ASSERT_TRUE(sessions);
  // register_and_login's own session, and the two devices.
  ASSERT_EQ(sessions.value().size(), 3u);
  std::int64_t second_id = 0;
  int current = 0;
  for (const auto& session : sessions.value()) {
    current += session.current ? 1 : 0;
    if (!session.current && session.device_name == "libparley" && session.id != alice.session_id) {
      second_id = session.id;
    }
  }
  EXPECT_EQ(current, 1);
  ASSERT_NE(second_id, 0);
  ASSERT_TRUE(await_result<Done>([&](auto done) { first->revoke_session(second_id, done); }));
  // The revoked device learns it from its connection.
  ASSERT_TRUE(two->wait_until([&] { return second->state() == ConnectionState::signed_out; }));
  auto unknown = await_result<Done>([&](auto done) { first->revoke_session(999999, done); });
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);

  auto third = signed_in_account(runtime, dir / "three", server.port(), alice, three);
  auto revoked = await_result<int>([&](auto done) { first->revoke_other_sessions(done); });
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked.value(), 2);  // the third device and register_and_login's session
  ASSERT_TRUE(three->wait_until([&] { return third->state() == ConnectionState::signed_out; }));

  auto wrong = await_result<Done>([&](auto done) { first->change_password("not it", "a new password", done); });
  ASSERT_FALSE(wrong);
  ASSERT_TRUE(await_result<Done>([&](auto done) { first->change_password(alice.password, "a new password", done); }));
  EXPECT_EQ(http.post("/api/v1/sessions", boost::json::object{{"username", "alice"}, {"password", "a new password"}})
                .status,
            201);
}

TEST_F(AccountApiTest, TwoFactorLoginIsSetUpUsedAndDisabled) {
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  auto enrolment = await_result<TwoFactorEnrolment>([&](auto done) { account->begin_two_factor(alice.password, done); });
  ASSERT_TRUE(enrolment) << enrolment.error().message;
  EXPECT_NE(enrolment.value().otpauth_uri.find("otpauth://totp/"), std::string::npos);
  EXPECT_FALSE(enrolment.value().qr_text.empty());
  auto status = await_result<TwoFactorStatus>([&](auto done) { account->two_factor_status(done); });
  ASSERT_TRUE(status);
  EXPECT_TRUE(status.value().pending);
  EXPECT_FALSE(status.value().enabled);
  auto bad = await_result<std::vector<std::string>>([&](auto done) { account->confirm_two_factor("000000", done); });
  if (totp(enrolment.value().secret) != "000000") {
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::forbidden);  // openapi.yaml: a wrong code at confirm is 403 forbidden
  }
  auto codes = await_result<std::vector<std::string>>(
      [&](auto done) { account->confirm_two_factor(totp(enrolment.value().secret), done); });
  ASSERT_TRUE(codes) << codes.error().message;
  EXPECT_EQ(codes.value().size(), 10u);

  // Another device: the password alone is not enough; with a code it is.
  auto other_recorder = std::make_shared<Recorder>();
  auto opened = Account::open(runtime, options_for(url_of(server.port()), dir / "other"));
  ASSERT_TRUE(opened);
  auto other = std::move(opened.value());
  other->set_listener(other_recorder);
  auto first_step = await_result<User>([&](auto done) { other->sign_in("alice", alice.password, done); });
  ASSERT_FALSE(first_step);
  EXPECT_EQ(first_step.error().code, Errc::two_factor_required);
  // A recovery code works once, like a TOTP code.
  auto signed_in = await_result<User>(
      [&](auto done) { other->sign_in("alice", alice.password, done, codes.value().front()); });
  ASSERT_TRUE(signed_in) << signed_in.error().message;
  ASSERT_TRUE(other_recorder->wait_until([&] { return other->state() == ConnectionState::online; }));

  // Disabling needs the password and a current code.
  auto refused = await_result<Done>([&](auto done) { account->disable_two_factor("wrong password", "123456", done); });
  ASSERT_FALSE(refused);
  // Each code works once: the next step's (within the server's one-step skew).
  ASSERT_TRUE(await_result<Done>(
      [&](auto done) { account->disable_two_factor(alice.password, totp(enrolment.value().secret, 1), done); }));
  status = await_result<TwoFactorStatus>([&](auto done) { account->two_factor_status(done); });
  ASSERT_TRUE(status);
  EXPECT_FALSE(status.value().enabled);
}

class StickerTest : public AccountApiTest {
 protected:
  StickerTest() : AccountApiTest(ServerOptions{"[stickers]\ninstall_default_pack = true\n", {}}) {}
};

TEST_F(StickerTest, PacksAreListedAddedRemovedAndAStickerIsSentOnce) {
  make_contacts(http, alice, bob);
  const auto direct = direct_conversation(http, alice, bob);
  auto alice_recorder = std::make_shared<Recorder>();
  auto bob_recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, alice_recorder);
  auto bob_account = signed_in_account(runtime, dir / "bob", server.port(), bob, bob_recorder);

  auto catalogue = await_result<std::vector<StickerPack>>([&](auto done) { account->sticker_packs(false, done); });
  ASSERT_TRUE(catalogue) << catalogue.error().message;
  ASSERT_FALSE(catalogue.value().empty());
  const auto name = catalogue.value().front().name;
  auto pack = await_result<StickerPack>([&](auto done) { account->sticker_pack(name, done); });
  ASSERT_TRUE(pack) << pack.error().message;
  ASSERT_FALSE(pack.value().stickers.empty());
  const auto sticker = pack.value().stickers.front().id;

  // Not among her packs yet: the server refuses the sticker (failed, not retried).
  // New users may get the default pack: start from none.
  auto removed = await_result<Done>([&](auto done) { account->remove_sticker_pack(name, done); });
  if (!removed) {
    EXPECT_EQ(removed.error().code, Errc::not_found) << removed.error().message;
  }
  auto mine = await_result<std::vector<StickerPack>>([&](auto done) { account->sticker_packs(true, done); });
  ASSERT_TRUE(mine);
  EXPECT_TRUE(mine.value().empty());
  ASSERT_TRUE(account->send_sticker(direct, sticker));
  ASSERT_TRUE(alice_recorder->wait_until([&] {
    auto page = account->history(direct);
    return !page.messages.empty() && page.messages.back().state == MessageState::failed;
  }));

  ASSERT_TRUE(await_result<Done>([&](auto done) { account->add_sticker_pack(name, done); }));
  mine = await_result<std::vector<StickerPack>>([&](auto done) { account->sticker_packs(true, done); });
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine.value().size(), 1u);
  EXPECT_EQ(mine.value().front().name, name);
  auto client_id = account->send_sticker(direct, sticker);
  ASSERT_TRUE(client_id);
  ASSERT_TRUE(bob_recorder->wait_until([&] {
    auto page = bob_account->history(direct);
    return !page.messages.empty() && page.messages.back().sticker_id == sticker;
  }));
  // (The refused sticker stays listed as failed after the newest page.)
  ASSERT_TRUE(alice_recorder->wait_until([&] {
    for (const auto& message : account->history(direct).messages) {
      if (message.client_id == client_id.value()) return message.state == MessageState::sent && message.sticker_id == sticker;
    }
    return false;
  }));
  int stickers = 0;
  for (const auto& message : server_history(http, alice, direct)) stickers += message.client_id == client_id.value();
  EXPECT_EQ(stickers, 1);
  EXPECT_FALSE(account->send_sticker(direct, 0));  // refused before the outbox
}

TEST_F(StickerTest, AStickerImageIsCachedAndServedWithoutTheServer) {
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  auto catalogue = await_result<std::vector<StickerPack>>([&](auto done) { account->sticker_packs(false, done); });
  ASSERT_TRUE(catalogue) << catalogue.error().message;
  ASSERT_FALSE(catalogue.value().empty());
  const auto name = catalogue.value().front().name;
  auto pack = await_result<StickerPack>([&](auto done) { account->sticker_pack(name, done); });
  ASSERT_TRUE(pack) << pack.error().message;
  ASSERT_FALSE(pack.value().stickers.empty());
  const auto sticker = pack.value().stickers.front().id;

  // What the server serves, fetched directly.
  const auto direct = http.get("/api/v1/stickers/" + std::to_string(sticker) + "/image", alice.token);
  ASSERT_EQ(direct.status, 200) << direct.body;
  ASSERT_FALSE(direct.body.empty());

  EXPECT_FALSE(account->cached_sticker_image(sticker));
  EXPECT_EQ(account->media_cache_bytes(), 0);
  auto image = await_result<std::filesystem::path>([&](auto done) { account->sticker_image(sticker, done); });
  ASSERT_TRUE(image) << image.error().message;
  const auto read_file = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(sha256_hex(read_file(image.value())), sha256_hex(direct.body));
  EXPECT_EQ(image.value().parent_path(), dir / "alice" / "media");
  EXPECT_EQ(account->media_cache_bytes(), static_cast<std::int64_t>(direct.body.size()));
  auto cached = account->cached_sticker_image(sticker);
  ASSERT_TRUE(cached);
  EXPECT_EQ(*cached, image.value());

  // Bad input: an unknown sticker is the server's not_found, an id that
  // cannot be one is refused before the network; neither leaves a file.
  const auto unknown_id = sticker + 100000;
  auto unknown = await_result<std::filesystem::path>([&](auto done) { account->sticker_image(unknown_id, done); });
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found) << unknown.error().message;
  auto invalid = await_result<std::filesystem::path>([&](auto done) { account->sticker_image(0, done); });
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, Errc::invalid_argument);
  EXPECT_FALSE(account->cached_sticker_image(unknown_id));
  EXPECT_EQ(account->media_cache_bytes(), static_cast<std::int64_t>(direct.body.size()));

  // Without the server the cached image is still given; another is not.
  server.kill9();
  auto again = await_result<std::filesystem::path>([&](auto done) { account->sticker_image(sticker, done); });
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again.value(), image.value());
  EXPECT_EQ(sha256_hex(read_file(again.value())), sha256_hex(direct.body));
  auto offline = await_result<std::filesystem::path>([&](auto done) { account->sticker_image(sticker + 1, done); });
  ASSERT_FALSE(offline);
  EXPECT_EQ(offline.error().code, Errc::network);
}

TEST_F(AccountApiTest, PersonalDataIsExportedAndTheAccountDeleted) {
  auto recorder = std::make_shared<Recorder>();
  auto account = signed_in_account(runtime, dir / "alice", server.port(), alice, recorder);
  auto requested = await_result<DataExport>([&](auto done) { account->request_export(done); });
  ASSERT_TRUE(requested) << requested.error().message;
  EXPECT_FALSE(requested.value().id.empty());
  // The server builds the archive in the background: its state is polled
  // (no event announces it), bounded.
  DataExport state = requested.value();
  for (int i = 0; i < 200 && state.state != "ready" && state.state != "failed"; ++i) {
    std::this_thread::sleep_for(100ms);
    auto polled = await_result<DataExport>([&](auto done) { account->export_status(done); });
    ASSERT_TRUE(polled) << polled.error().message;
    state = polled.value();
  }
  ASSERT_EQ(state.state, "ready") << state.error;
  ASSERT_TRUE(await_result<Done>([&](auto done) { account->download_export(state.id, dir / "export.zip", nullptr, done); }));
  std::ifstream in(dir / "export.zip", std::ios::binary);
  const std::string archive{std::istreambuf_iterator<char>(in), {}};
  ASSERT_TRUE(state.size.has_value());
  EXPECT_EQ(static_cast<std::int64_t>(archive.size()), *state.size);
  EXPECT_EQ(sha256_hex(archive), state.sha256);

  auto wrong = await_result<Done>([&](auto done) { account->delete_account("wrong password", "", done); });
  ASSERT_FALSE(wrong);
  EXPECT_NE(account->state(), ConnectionState::signed_out);  // nothing lost on a refusal
  ASSERT_TRUE(await_result<Done>([&](auto done) { account->delete_account(alice.password, "", done); }));
  EXPECT_EQ(account->state(), ConnectionState::signed_out);
  EXPECT_TRUE(account->conversations().empty());
  auto again = await_result<User>([&](auto done) { account->sign_in("alice", alice.password, done); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::invalid_credentials);
}

}  // namespace
}  // namespace parley::test
