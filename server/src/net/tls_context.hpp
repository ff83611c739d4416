// The server's TLS configuration (certificate, key, protocol versions,
// ciphers) as an OpenSSL context, and its replacement when the certificate
// files change (SIGHUP).
//
// Each connection takes the current context when it is accepted and holds it
// (a shared_ptr) until it ends: a reload swaps in a new context for new
// connections only, and an old context is freed when its last connection
// has gone. Freeing a context that a live connection still uses is the race
// this design rules out.
//
// The Asio/OpenSSL headers stay out of this header: only the translation
// units that build streams need them.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/config.hpp"

namespace boost::asio::ssl {
class context;
}

namespace parley::net {

// Builds a server context from `options`: loads the certificate chain and
// key, checks that they match, and applies the protocol settings described
// in docs/security.md. Throws ConfigError naming the file and OpenSSL's
// reason when anything is wrong.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const TlsOptions& options);

// Lowercase hex SHA-256 of the context's leaf certificate (DER), as
// `openssl x509 -fingerprint -sha256` prints it without colons.
std::string certificate_fingerprint(boost::asio::ssl::context& context);

// The context new connections get. Thread-safe: current() is called by the
// I/O threads at each accept, reload() by the signal thread.
class TlsContexts {
 public:
  // Builds the first context. Throws ConfigError, so that parleyd refuses to
  // start with a certificate it cannot use.
  explicit TlsContexts(TlsOptions options);

  // The context for a connection being accepted now; never null.
  [[nodiscard]] std::shared_ptr<boost::asio::ssl::context> current() const;

  // Reads the files again. On success the new context serves every new
  // connection from now on; on failure (unreadable file, key that does not
  // match) the error is logged, the old context stays, and false is
  // returned. Reading files and building the context happen outside the
  // lock, so accepts never wait for the disk.
  bool reload();

  [[nodiscard]] const TlsOptions& options() const { return options_; }

 private:
  TlsOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // guarded by mutex_
};

}  // namespace parley::net
