#include "rest/tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/failure.hpp"

namespace parley::rest {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

Result<std::shared_ptr<TlsContext>> make_tls_context(const TlsTrust& trust) {
  auto tls = std::make_shared<TlsContext>();
  auto& context = tls->context;
  boost::system::error_code error;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      error);
  if (error) return Error{Errc::invalid_argument, "TLS options: " + error.message(), 0};
  if (!trust.system_store && trust.ca_file.empty() && trust.ca_pem.empty()) {
    return Error{Errc::invalid_argument, "TLS: no certificate authority to trust (system store off, no CA given)", 0};
  }
  if (trust.system_store) {
    context.set_default_verify_paths(error);
    if (error) return Error{Errc::invalid_argument, "TLS: the system CA store: " + error.message(), 0};
  }
  if (!trust.ca_file.empty()) {
    context.load_verify_file(trust.ca_file.string(), error);
    if (error) {
      return Error{Errc::invalid_argument, "TLS: cannot use CA file " + trust.ca_file.string() + ": " + error.message(),
                   0};
    }
  }
  if (!trust.ca_pem.empty()) {
    context.add_certificate_authority(asio::buffer(trust.ca_pem), error);
    if (error) return Error{Errc::invalid_argument, "TLS: cannot use the CA given as PEM: " + error.message(), 0};
  }
  context.set_verify_mode(ssl::verify_peer);
  return tls;
}

asio::awaitable<void> client_handshake(TlsStream& stream, const std::string& host, std::chrono::milliseconds timeout) {
  SSL* handle = stream.native_handle();
  boost::system::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  if (not_ip) {
    // A name: sent as SNI, and the certificate must carry it.
    // SSL_set_tlsext_host_name is a macro with a C cast; its call spelled out.
    if (SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) !=
            1 ||
        SSL_set1_host(handle, host.c_str()) != 1) {
      throw Failure(Errc::invalid_argument, "TLS: cannot use host name " + host);
    }
  } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), host.c_str()) != 1) {
    throw Failure(Errc::invalid_argument, "TLS: cannot use address " + host);
  }
  stream.set_verify_mode(ssl::verify_peer);
  boost::beast::get_lowest_layer(stream).expires_after(timeout);
  auto [error] = co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  boost::beast::get_lowest_layer(stream).expires_never();
  if (!error) co_return;
  const long verified = SSL_get_verify_result(handle);
  if (verified != X509_V_OK) {
    throw Failure(Errc::bad_certificate,
                  "the certificate of " + host + " is not trusted: " + X509_verify_cert_error_string(verified));
  }
  if (error == boost::beast::error::timeout) throw Failure(Errc::timeout, "TLS handshake with " + host + ": timed out");
  throw Failure(Errc::network, "TLS handshake with " + host + ": " + error.message());
}

}  // namespace parley::rest
