// A download the client abandons must cost the server one connection, not
// its life: the file goes out with sendfile(2), which has no MSG_NOSIGNAL,
// so a peer that has gone away raises SIGPIPE, whose default action ends the
// process. Black box: clients reset downloads mid-file, then the server must
// still answer.
#include <csignal>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/media_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

// Sends the request, reads the first bytes of the answer, then closes with
// a reset (SO_LINGER 0) while the server is still sending the file.
void abandon_download(std::uint16_t port, const std::string& target, const std::string& token) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  char buffer[4096];
  ASSERT_GT(::recv(fd, buffer, sizeof buffer, 0), 0);
  linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
}

TEST(MediaAbortTest, ClientsThatResetDownloadsMidFileDoNotStopTheServer) {
  // The server starts with SIGPIPE at its default action, as a shell or a
  // service manager starts it: an ignored signal is inherited through exec,
  // and a test runner that ignores SIGPIPE would hide the defect.
  auto previous = std::signal(SIGPIPE, SIG_DFL);
  ServerProcess server;
  std::signal(SIGPIPE, previous);
  HttpClient client(server.port());
  auto ann = register_and_login(client, "ann");
  // Far larger than the socket buffers: the server is mid-file at the reset.
  constexpr std::uint64_t kSize = 32 * 1024 * 1024;
  auto up = send_pattern(server.port(), "POST", "/api/v1/media?name=big.bin", kSize, as_user(ann.token));
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string target = "/api/v1/media/" + std::string(up.json().at("media").at("id").as_string());

  for (int i = 0; i < 20; ++i) abandon_download(server.port(), target, ann.token);

  auto got = download(server.port(), target, ann.token);
  EXPECT_EQ(got.size, kSize);
  EXPECT_EQ(got.sha256, pattern_sha256(kSize));
}

}  // namespace
}  // namespace parley::test
