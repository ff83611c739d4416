// Start, graceful stop and restart of the real binary.
#include <sys/wait.h>
#include <thread>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "support/http_client.hpp"
#include "support/pg_database.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

using boost::json::object;
namespace asio = boost::asio;

TEST(LifecycleTest, SigtermExitsCleanlyAndDataSurvivesRestart) {
  ServerProcess server;
  HttpClient client(server.port());
  auto user = register_and_login(client, "pat");
  ASSERT_EQ(client.patch("/api/v1/me", object{{"status_text", "persisted"}}, user.token).status, 200);

  int status = server.terminate();
  ASSERT_TRUE(WIFEXITED(status)) << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(server.log().find("logger=server stopped"), std::string::npos);
  EXPECT_EQ(server.terminate(), -1);  // already gone: nothing left to stop
  // A clean close checkpoints the write-ahead log into the database file
  // (SQLite only: on PostgreSQL there is no file of ours to check).
  if (!postgres_backend_selected()) {
    EXPECT_FALSE(std::filesystem::exists(server.data_dir() / "data" / "parley.db-wal") &&
                 std::filesystem::file_size(server.data_dir() / "data" / "parley.db-wal") > 0);
  }

  server.start();
  HttpClient again(server.port());
  auto me = again.get("/api/v1/me", user.token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().at("user").at("status_text"), "persisted");
  EXPECT_NO_THROW(login(again, "pat", user.password));
}

TEST(LifecycleTest, RequestInFlightAtSigtermIsAnsweredBeforeExit) {
  ServerProcess server;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  std::string body = R"({"username": "quinn", "password": "long enough", "display_name": "Q"})";
  std::string head = "POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  asio::write(socket, asio::buffer(head + body.substr(0, 10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  ::kill(server.pid_for_tests(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  asio::write(socket, asio::buffer(body.substr(10)));

  std::string response;
  boost::system::error_code ec;
  char chunk[4096];
  for (;;) {
    std::size_t n = socket.read_some(asio::buffer(chunk), ec);
    response.append(chunk, n);
    if (ec) break;
  }
  EXPECT_EQ(response.rfind("HTTP/1.1 201", 0), 0U) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  int status = server.wait_exit();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(LifecycleTest, BadConfigRefusesToStart) {
  ServerOptions options;
  options.extra_config = "[http]\nmax_body_bites = 10\n";
  try {
    ServerProcess server(options);
    FAIL() << "parleyd started with an unknown config key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown configuration key 'http.max_body_bites'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace parley::test
