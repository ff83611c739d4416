// https:// servers: the engine registers, signs in, syncs, sends and
// downloads over TLS against the real parleyd with a certificate from a
// throwaway CA made here with openssl; a certificate from another CA, or
// one that does not name the host, is refused with Errc::bad_certificate
// (never a plain-text fallback).
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace parley::test {
namespace {

// A CA, and a server certificate it signed for `san` (e.g. "DNS:localhost").
struct Pki {
  std::filesystem::path ca_cert, server_cert, server_key;
};

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + command);
}

Pki make_pki(const std::filesystem::path& dir, const std::string& san) {
  std::filesystem::create_directories(dir);
  const auto d = dir.string();
  run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 2 -subj /CN=TestCA"
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
      " -keyout " + d + "/ca.key -out " + d + "/ca.pem");
  run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -subj /CN=parleyd"
      " -keyout " + d + "/server.key -out " + d + "/server.csr");
  std::ofstream(dir / "ext.cnf") << "subjectAltName=" << san << "\nextendedKeyUsage=serverAuth\n";
  run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial" +
      " -days 2 -sha256 -extfile " + d + "/ext.cnf -out " + d + "/server.pem");
  return {dir / "ca.pem", dir / "server.pem", dir / "server.key"};
}

ServerOptions tls_server(const Pki& pki) {
  ServerOptions options;
  options.extra_config = "[tls]\ncert_file = \"" + pki.server_cert.string() + "\"\nkey_file = \"" +
                         pki.server_key.string() + "\"\n";
  return options;
}

Result<User> register_user(Runtime& runtime, const std::string& url, const std::string& name, const TlsTrust& tls) {
  return await_result<User>(
      [&](auto done) { register_account(runtime, url, name, "correct horse battery", name, done, tls); });
}

std::unique_ptr<Account> tls_account(Runtime& runtime, const std::string& url, const std::filesystem::path& dir,
                                     const TlsTrust& tls, const std::string& name,
                                     const std::shared_ptr<Recorder>& recorder) {
  AccountOptions options = options_for(url, dir);
  options.tls = tls;
  options.reconnect_min_ms = 50;
  options.reconnect_max_ms = 500;
  auto opened = Account::open(runtime, options);
  if (!opened) throw std::runtime_error("open: " + opened.error().message);
  auto account = std::move(opened.value());
  account->set_listener(recorder);
  auto signed_in =
      await_result<User>([&](auto done) { account->sign_in(name, "correct horse battery", done); });
  if (!signed_in) throw std::runtime_error("sign in: " + signed_in.error().message);
  if (!recorder->wait_until([&] { return account->state() == ConnectionState::online; })) {
    throw std::runtime_error("the account did not come online over TLS");
  }
  return account;
}

TEST(TlsTest, SyncsSendsAndDownloadsOverTlsWithTheAppsOwnCa) {
  TempDir dir;
  const auto pki = make_pki(dir / "pki", "DNS:localhost,IP:127.0.0.1");
  ServerProcess server(tls_server(pki));
  const auto url = "https://localhost:" + std::to_string(server.port());
  TlsTrust trust;
  trust.ca_file = pki.ca_cert;
  Runtime runtime;
  for (const char* name : {"alice", "bob"}) {
    auto registered = register_user(runtime, url, name, trust);
    ASSERT_TRUE(registered) << registered.error().message;
  }
  auto alice_recorder = std::make_shared<Recorder>();
  auto bob_recorder = std::make_shared<Recorder>();
  auto alice = tls_account(runtime, url, dir / "alice", trust, "alice", alice_recorder);
  // Bob trusts the CA given as PEM text, and names the server by address.
  TlsTrust bob_trust;
  {
    std::ifstream in(pki.ca_cert);
    bob_trust.ca_pem.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto bob = tls_account(runtime, "https://127.0.0.1:" + std::to_string(server.port()), dir / "bob", bob_trust,
                         "bob", bob_recorder);

  ASSERT_TRUE(await_result<Done>([&](auto done) { alice->invite("bob", done); }));
  ASSERT_TRUE(bob_recorder->wait_until([&] { return bob->invitations().size() == 1; }));
  ASSERT_TRUE(await_result<Done>([&](auto done) { bob->accept(bob->invitations().front().id, done); }));
  auto direct = await_result<ConversationId>([&](auto done) { alice->open_direct("bob", done); });
  ASSERT_TRUE(direct) << direct.error().message;
  ASSERT_TRUE(alice->send_text(direct.value(), "over TLS"));
  ASSERT_TRUE(bob_recorder->wait_until([&] {
    auto page = bob->history(direct.value());
    return !page.messages.empty() && page.messages.back().text == "over TLS" &&
           page.messages.back().state == MessageState::sent;
  }));

  // Media over TLS: upload, then download into the other device's cache.
  const std::string content(300'000, 'x');
  std::ofstream(dir / "file.bin", std::ios::binary) << content;
  auto sent = await_result<std::string>(
      [&](auto done) { alice->send_file(direct.value(), dir / "file.bin", "", nullptr, done); });
  ASSERT_TRUE(sent) << sent.error().message;
  MediaId media;
  ASSERT_TRUE(bob_recorder->wait_until([&] {
    auto page = bob->history(direct.value());
    if (page.messages.empty() || page.messages.back().attachments.empty()) return false;
    media = page.messages.back().attachments.front().id;
    return true;
  }));
  auto path = await_result<std::filesystem::path>(
      [&](auto done) { bob->download(media, Account::Variant::original, nullptr, done); });
  ASSERT_TRUE(path) << path.error().message;
  std::ifstream in(path.value(), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), content);
}

TEST(TlsTest, AnotherCaOrAnotherHostNameIsRefusedAsABadCertificate) {
  TempDir dir;
  const auto pki = make_pki(dir / "pki", "DNS:localhost");
  const auto other = make_pki(dir / "other", "DNS:localhost");
  ServerProcess server(tls_server(pki));
  const auto port = std::to_string(server.port());
  Runtime runtime;

  // The system store alone does not know the test CA.
  auto untrusted = register_user(runtime, "https://localhost:" + port, "carol", TlsTrust{});
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, Errc::bad_certificate) << untrusted.error().message;

  TlsTrust wrong_ca;
  wrong_ca.ca_file = other.ca_cert;
  auto refused = register_user(runtime, "https://localhost:" + port, "carol", wrong_ca);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::bad_certificate) << refused.error().message;

  // The right CA, but the certificate names localhost, not 127.0.0.1.
  TlsTrust right_ca;
  right_ca.ca_file = pki.ca_cert;
  auto wrong_host = register_user(runtime, "https://127.0.0.1:" + port, "carol", right_ca);
  ASSERT_FALSE(wrong_host);
  EXPECT_EQ(wrong_host.error().code, Errc::bad_certificate) << wrong_host.error().message;
  EXPECT_NE(wrong_host.error().message.find("mismatch"), std::string::npos) << wrong_host.error().message;

  // With both right, it works (the refusals above were about trust only).
  auto registered = register_user(runtime, "https://localhost:" + port, "carol", right_ca);
  ASSERT_TRUE(registered) << registered.error().message;

  // A signed-in account whose server later presents an untrusted
  // certificate reports bad_certificate from its connection and never
  // goes online.
  auto recorder = std::make_shared<Recorder>();
  AccountOptions options = options_for("https://localhost:" + port, dir / "carol");
  options.tls = wrong_ca;
  auto opened = Account::open(runtime, options);
  ASSERT_TRUE(opened);
  auto account = std::move(opened.value());
  account->set_listener(recorder);
  auto signed_in = await_result<User>([&](auto done) { account->sign_in("carol", "correct horse battery", done); });
  ASSERT_FALSE(signed_in);
  EXPECT_EQ(signed_in.error().code, Errc::bad_certificate);

  // A CA file that does not exist is refused at open, before any I/O.
  AccountOptions missing = options_for("https://localhost:" + port, dir / "missing");
  missing.tls.ca_file = dir / "no-such-ca.pem";
  auto not_opened = Account::open(runtime, missing);
  ASSERT_FALSE(not_opened);
  EXPECT_EQ(not_opened.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace parley::test
