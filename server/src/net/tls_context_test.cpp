#include "net/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace parley::net {
namespace {

namespace fs = std::filesystem;

// Writes a fresh self-signed P-256 certificate and its key as PEM files.
void write_self_signed(const fs::path& cert_path, const fs::path& key_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  ASSERT_NE(key, nullptr);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);

  FILE* out = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_X509(out, cert.get());
  std::fclose(out);
  out = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
}

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("parley-tls-unit-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    options_.cert_file = dir_ / "cert.pem";
    options_.key_file = dir_ / "key.pem";
    write_self_signed(options_.cert_file, options_.key_file);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  TlsOptions options_;
};

TEST_F(TlsContextTest, ContextAllowsOnlyTls12AndUp) {
  auto context = make_server_context(options_);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(context->native_handle()), TLS1_2_VERSION);
  EXPECT_NE(SSL_CTX_get_options(context->native_handle()) & SSL_OP_NO_COMPRESSION, 0U);
  EXPECT_NE(SSL_CTX_get_options(context->native_handle()) & SSL_OP_NO_RENEGOTIATION, 0U);
  EXPECT_NE(SSL_CTX_get_options(context->native_handle()) & SSL_OP_NO_TICKET, 0U);
  options_.min_version = TlsVersion::kTls13;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(make_server_context(options_)->native_handle()), TLS1_3_VERSION);
}

TEST_F(TlsContextTest, MismatchedKeyAndMissingFilesAreConfigErrors) {
  write_self_signed(dir_ / "other-cert.pem", dir_ / "other-key.pem");
  TlsOptions mismatched = options_;
  mismatched.key_file = dir_ / "other-key.pem";
  EXPECT_THROW(make_server_context(mismatched), ConfigError);
  TlsOptions missing = options_;
  missing.cert_file = dir_ / "nowhere.pem";
  EXPECT_THROW(make_server_context(missing), ConfigError);
  EXPECT_THROW(TlsContexts{missing}, ConfigError);
}

TEST_F(TlsContextTest, ReloadSwapsForNewHoldersAndKeepsOldOnesAlive) {
  TlsContexts contexts(options_);
  auto held = contexts.current();  // as a connection accepted before the reload
  auto old_fingerprint = certificate_fingerprint(*held);
  ASSERT_EQ(old_fingerprint.size(), 64U);

  write_self_signed(options_.cert_file, options_.key_file);
  ASSERT_TRUE(contexts.reload());
  auto fresh = contexts.current();
  EXPECT_NE(fresh, held);
  EXPECT_NE(certificate_fingerprint(*fresh), old_fingerprint);
  // The old context is still whole for the connection that holds it.
  EXPECT_EQ(certificate_fingerprint(*held), old_fingerprint);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(held->native_handle()), SSL_free);
  EXPECT_NE(ssl, nullptr);

  // A broken file: the reload fails and the current context stays.
  std::ofstream(options_.cert_file) << "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(contexts.reload());
  EXPECT_EQ(contexts.current(), fresh);
}

}  // namespace
}  // namespace parley::net
