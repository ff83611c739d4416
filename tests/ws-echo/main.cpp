// parley-ws-echo: the echo server of echo_server.hpp, for conformance
// suites. See README.md.
//
//   parley-ws-echo [--port N] [--address A] [--threads N] [--deflate]
//                  [--context-takeover] [--max-message BYTES] [--fragment BYTES]
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "echo_server.hpp"

namespace {

bool number(const char* text, std::size_t& out) {
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), out);
  return ec == std::errc() && *end == '\0';
}

int usage() {
  std::fprintf(stderr,
               "usage: parley-ws-echo [--port N] [--address A] [--threads N] [--deflate] [--context-takeover]\n"
               "                      [--max-message BYTES] [--fragment BYTES]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t port = 9001, threads = 1;
  std::string address = "127.0.0.1";
  parley::wsproto::ConnectionOptions options;
  // Autobahn's category 9 sends messages of up to 16 MiB.
  options.limits.max_frame_bytes = options.limits.max_message_bytes = 16 << 20;
  options.max_queued_bytes = 64 << 20;
  options.server_name = "parley-ws-echo";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    std::size_t value = 0;
    if (arg == "--deflate") {
      options.deflate.enabled = true;
    } else if (arg == "--context-takeover") {
      options.deflate.context_takeover = true;
    } else if (arg == "--address" && has_value) {
      address = argv[++i];
    } else if (has_value && number(argv[i + 1], value)) {
      ++i;
      if (arg == "--port" && value < 65536)
        port = value;
      else if (arg == "--threads" && value > 0 && value <= 64)
        threads = value;
      else if (arg == "--max-message" && value > 0)
        options.limits.max_frame_bytes = options.limits.max_message_bytes = value;
      else if (arg == "--fragment")
        options.fragment_bytes = value;
      else
        return usage();
    } else {
      return usage();
    }
  }
  boost::asio::io_context io(static_cast<int>(threads));
  parley::ws_echo::EchoServer server(io, address, static_cast<std::uint16_t>(port), options);
  server.start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    server.stop();
    io.stop();
  });
  std::printf("parley-ws-echo listening on %s:%u\n", address.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
}
