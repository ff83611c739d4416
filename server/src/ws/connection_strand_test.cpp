#include "ws/connection_strand.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <optional>

#include "net/tls_stream.hpp"

namespace parley::ws {
namespace {

namespace asio = boost::asio;

// The HTTP server accepts on make_strand(io): the socket's any_io_executor
// wraps a Strand, and so does a TLS stream made from that socket.
TEST(ConnectionStrandTest, FoundInAPlainSocketAndInATlsStream) {
  asio::io_context io;
  auto accepted_on = asio::make_strand(io);
  asio::ip::tcp::socket socket(accepted_on);
  auto plain = strand_of(socket.get_executor());
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, accepted_on);

  auto tls_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  net::TlsStream stream(std::move(socket), tls_context);
  auto tls = strand_of(stream.get_executor());
  ASSERT_TRUE(tls.has_value());
  EXPECT_EQ(*tls, accepted_on);
}

TEST(ConnectionStrandTest, NothingForAnExecutorThatIsNotAStrand) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io.get_executor());
  EXPECT_FALSE(strand_of(socket.get_executor()).has_value());
}

// The session keeps its strand after the stream is gone (the hub posts to a
// session whose connection has ended): the copy owns its share of the strand.
TEST(ConnectionStrandTest, TheCopyOutlivesTheStream) {
  asio::io_context io;
  std::optional<Strand> strand;
  {
    asio::ip::tcp::socket socket(asio::make_strand(io));
    auto tls_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    net::TlsStream stream(std::move(socket), tls_context);
    strand = strand_of(stream.get_executor());
  }
  ASSERT_TRUE(strand.has_value());
  bool ran_on_strand = false;
  asio::post(*strand, [&] { ran_on_strand = strand->running_in_this_thread(); });
  io.run();
  EXPECT_TRUE(ran_on_strand);
}

}  // namespace
}  // namespace parley::ws
