// The WebSocket layer over TLS: Connection<ssl::stream<tcp::socket>> with a
// certificate made here, against Beast's client over TLS.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <thread>

#include "wsproto/connection.hpp"

namespace parley::wsproto {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using TlsSocket = ssl::stream<tcp::socket>;

// A throwaway self-signed P-256 certificate for "localhost", in PEM.
std::pair<std::string, std::string> make_certificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  auto pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  std::string cert_pem = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
  std::string key_pem = pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return {cert_pem, key_pem};
}

struct Echo : SessionHandler {
  void on_message(Session& session, Opcode opcode, std::string&& payload) override {
    session.send(PreparedMessage::make(opcode, std::move(payload)));
  }
};

TEST(TlsConnection, EchoAndCloseOverTls) {
  auto [cert, key] = make_certificate();
  ssl::context server_ctx(ssl::context::tls_server);
  server_ctx.use_certificate_chain(asio::buffer(cert));
  server_ctx.use_private_key(asio::buffer(key), ssl::context::pem);

  asio::io_context io;
  TimerWheel wheel(io.get_executor(), std::chrono::milliseconds(100));
  wheel.start();
  ConnectionOptions options;
  options.deflate.enabled = true;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
    ASSERT_FALSE(ec);
    auto tls = std::make_shared<TlsSocket>(std::move(socket), server_ctx);
    tls->async_handshake(ssl::stream_base::server, [&, tls](boost::system::error_code hec) {
      ASSERT_FALSE(hec);
      std::make_shared<Connection<TlsSocket>>(std::move(*tls), options, wheel, std::make_shared<Echo>())->run();
    });
  });
  std::thread server([&] { io.run(); });
  struct Join {
    asio::io_context& io;
    std::thread& thread;
    ~Join() {
      io.stop();
      thread.join();
    }
  } join{io, server};

  asio::io_context client_io;
  ssl::context client_ctx(ssl::context::tls_client);
  client_ctx.set_verify_mode(ssl::verify_none);
  websocket::stream<TlsSocket> ws(client_io, client_ctx);
  websocket::permessage_deflate pmd;
  pmd.client_enable = true;
  ws.set_option(pmd);
  beast::get_lowest_layer(ws).connect(acceptor.local_endpoint());
  ws.next_layer().handshake(ssl::stream_base::client);
  ws.handshake("localhost", "/");
  boost::system::error_code ec;
  for (std::string message : {std::string("hello over TLS"), std::string(100'000, 'z'), std::string(40'000, 'q')}) {
    ws.write(asio::buffer(message), ec);
    ASSERT_FALSE(ec) << ec.message();
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), message);
  }
  ws.close(websocket::close_code::normal, ec);
  EXPECT_FALSE(ec) << ec.message();
  asio::post(io, [&] { wheel.stop(); });
}

}  // namespace
}  // namespace parley::wsproto
