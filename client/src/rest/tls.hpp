// TLS for the engine's connections: the client context (trust) and the
// handshake with verification. Included only by the files that open
// connections (rest/http.cpp, engine/connection.cpp), so that OpenSSL's
// headers stay out of the rest of the engine and out of the facade.
#pragma once

#include <chrono>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "rest/http.hpp"

namespace parley::rest {

struct TlsContext {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
};

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Builds a context that trusts the system store and/or the app's CAs, TLS
// 1.2 at least. Error{invalid_argument} when a CA cannot be loaded or no CA
// at all would be trusted.
Result<std::shared_ptr<TlsContext>> make_tls_context(const TlsTrust& trust);

// Runs the client handshake on a connected stream: SNI with the host name,
// the certificate checked against the context's CAs and against the host
// (DNS name or IP address). Throws Failure: Errc::bad_certificate when
// verification failed (with OpenSSL's reason), Errc::network or
// Errc::timeout otherwise.
boost::asio::awaitable<void> client_handshake(TlsStream& stream, const std::string& host,
                                              std::chrono::milliseconds timeout);

}  // namespace parley::rest
