#include "net/tls_context.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

#include "core/log.hpp"

namespace parley::net {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 suites without the DHE ones: forward
// secret key exchange (ECDHE) and authenticated encryption (GCM, ChaCha20)
// only. TLS 1.3's suites are all of that kind; OpenSSL's default list of
// them is kept.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256";
// Resumption uses the server's own session cache (tickets are off, below):
// this many sessions, each for this long. About 1 KiB each.
constexpr long kSessionCacheSize = 20000;
constexpr long kSessionTimeoutSeconds = 3600;
// Tells this server's sessions apart in the cache.
constexpr unsigned char kSessionIdContext[] = "parleyd";

// The first queued OpenSSL error as text, or `fallback`; clears the queue.
std::string openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const TlsOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* handle = context->native_handle();
  ERR_clear_error();

  int min_version = options.min_version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(handle, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(handle, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(handle, kTls12Ciphers) != 1 || SSL_CTX_set1_groups_list(handle, kGroups) != 1) {
    throw ConfigError(fmt::format("tls: OpenSSL refused the protocol settings: {}", openssl_error("unknown error")));
  }
  // No compression (CRIME); no renegotiation (a client-triggered CPU cost and
  // a history of attacks); the server's order of suites, strongest first.
  // Stateless session tickets are off: OpenSSL would encrypt them with one
  // key for the whole life of the process, so a key stolen later would
  // decrypt every resumed session; the session cache has no such key.
  // TLS 1.3 then issues stateful tickets, looked up in the same cache.
  SSL_CTX_set_options(
      handle, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(handle, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(handle, kSessionCacheSize);
  SSL_CTX_set_timeout(handle, kSessionTimeoutSeconds);
  SSL_CTX_set_session_id_context(handle, kSessionIdContext, sizeof kSessionIdContext - 1);
  // OpenSSL may give an idle connection's record buffers back. Measured, it
  // changes little: Asio's SSL engine keeps buffers of its own (see
  // docs/security.md).
  SSL_CTX_set_mode(handle, SSL_MODE_RELEASE_BUFFERS);

  const auto cert = options.cert_file.string();
  const auto key = options.key_file.string();
  if (SSL_CTX_use_certificate_chain_file(handle, cert.c_str()) != 1) {
    throw ConfigError(fmt::format("tls.cert_file: cannot use '{}': {}", cert, openssl_error("unreadable")));
  }
  if (SSL_CTX_use_PrivateKey_file(handle, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw ConfigError(fmt::format("tls.key_file: cannot use '{}': {}", key, openssl_error("unreadable")));
  }
  if (SSL_CTX_check_private_key(handle) != 1) {
    throw ConfigError(fmt::format("tls.key_file: '{}' does not match the certificate in '{}': {}", key, cert,
                                  openssl_error("mismatch")));
  }
  return context;
}

std::string certificate_fingerprint(ssl::context& context) {
  X509* leaf = SSL_CTX_get0_certificate(context.native_handle());
  if (leaf == nullptr) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(leaf, EVP_sha256(), digest, &size) != 1) return {};
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

TlsContexts::TlsContexts(TlsOptions options) : options_(std::move(options)), current_(make_server_context(options_)) {
  log::get("tls")->info("tls enabled cert_file={} sha256={}", options_.cert_file.string(),
                        certificate_fingerprint(*current_));
}

std::shared_ptr<ssl::context> TlsContexts::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool TlsContexts::reload() {
  auto logger = log::get("tls");
  std::shared_ptr<ssl::context> fresh;
  try {
    fresh = make_server_context(options_);
  } catch (const std::exception& e) {
    logger->error("tls reload failed, keeping the current certificate error=\"{}\"", e.what());
    return false;
  }
  auto fingerprint = certificate_fingerprint(*fresh);
  std::shared_ptr<ssl::context> old;
  {
    std::lock_guard lock(mutex_);
    old = std::exchange(current_, std::move(fresh));
  }
  // `old` is released here, outside the lock; the connections that still
  // hold it keep it alive until they end.
  logger->info("tls certificate reloaded cert_file={} sha256={}", options_.cert_file.string(), fingerprint);
  return true;
}

}  // namespace parley::net
