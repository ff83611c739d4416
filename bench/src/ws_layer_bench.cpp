// parley-ws-layer-bench: Parley's WebSocket layer (server/src/wsproto)
// beside Beast's websocket::stream, in one process and one run:
//
//   idle   heap bytes and allocations per idle connection on the server
//          side: N clients (plain POSIX sockets, which allocate nothing on
//          the heap) complete the handshake and go quiet; every operator
//          new of the process is counted, so the difference before and
//          after is what the server keeps per connection. RSS per
//          connection is printed beside it (it includes the kernel-side
//          page tables and the allocator's slack, not the socket buffers).
//   frames CPU per frame parsed (masked 100-byte text frames through the
//          Reader) and per frame serialised (prepare + queue + gather +
//          consume), and a fan-out: one prepared message queued for 100
//          connections. Medians of 7 runs.
//
//   parley-ws-layer-bench [--connections N]
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "wsproto/connection.hpp"
#include "wsproto/reader.hpp"
#include "wsproto/writer.hpp"

// --- Counting every allocation of the process

namespace {
std::atomic<long long> g_live_bytes{0};
std::atomic<long long> g_allocations{0};
std::atomic<long long> g_allocation_calls{0};

void* counted_alloc(std::size_t size) {
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  g_live_bytes += static_cast<long long>(malloc_usable_size(p));
  ++g_allocations;
  ++g_allocation_calls;
  return p;
}
void counted_free(void* p) noexcept {
  if (!p) return;
  g_live_bytes -= static_cast<long long>(malloc_usable_size(p));
  --g_allocations;
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) { return counted_alloc(size); }
void* operator new[](std::size_t size) { return counted_alloc(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using namespace parley::wsproto;
using Clock = std::chrono::steady_clock;

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// A blocking POSIX client that completes the handshake and then stays quiet.
int connect_client(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  static const char kRequest[] =
      "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (::write(fd, kRequest, sizeof kRequest - 1) < 0) std::exit(1);
  char buf[1024];
  std::size_t got = 0;
  while (got < 4 || std::memcmp(buf + got - 4, "\r\n\r\n", 4) != 0) {
    ssize_t n = ::read(fd, buf + got, 1);
    if (n <= 0) {
      std::fprintf(stderr, "handshake failed\n");
      std::exit(1);
    }
    got += static_cast<std::size_t>(n);
  }
  if (std::strncmp(buf, "HTTP/1.1 101", 12) != 0) std::exit(1);
  return fd;
}

struct IdleResult {
  double heap_bytes;
  double allocations;
  double rss_bytes;
};

// Runs `serve(acceptor, ready)` on a server thread; measures once `n`
// clients are connected and the server says all are idle.
IdleResult measure_idle(int n, const std::function<void(asio::io_context&, tcp::acceptor&, std::atomic<int>&)>& serve) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::uint16_t port = acceptor.local_endpoint().port();
  std::atomic<int> ready{0};
  serve(io, acceptor, ready);
  std::thread server([&] { io.run(); });
  // One warm-up connection: Asio's and the allocator's one-time state.
  std::vector<int> fds;
  fds.push_back(connect_client(port));
  while (ready < 1) std::this_thread::yield();
  malloc_trim(0);
  long long bytes0 = g_live_bytes, allocs0 = g_allocations;
  long rss0 = rss_bytes();
  for (int i = 0; i < n; ++i) fds.push_back(connect_client(port));
  while (ready < n + 1) std::this_thread::yield();
  // The server has read the handshake and its read is pending: idle.
  asio::post(io, [] {});
  IdleResult r{static_cast<double>(g_live_bytes - bytes0) / n, static_cast<double>(g_allocations - allocs0) / n,
               static_cast<double>(rss_bytes() - rss0) / n};
  io.stop();
  server.join();
  for (int fd : fds) ::close(fd);
  return r;
}

// The layer: a Connection per client with the defaults (60 s idle timeout,
// heartbeats from the wheel).
struct Counter : SessionHandler {
  std::atomic<int>* ready;
  void on_open(Session&) override { ++*ready; }
  void on_message(Session&, Opcode, std::string&&) override {}
};

IdleResult idle_wsproto(int n) {
  static ConnectionOptions options;
  std::unique_ptr<TimerWheel> wheel;
  std::shared_ptr<Counter> counter = std::make_shared<Counter>();
  std::function<void()> accept;
  return measure_idle(n, [&](asio::io_context& io, tcp::acceptor& acceptor, std::atomic<int>& ready) {
    wheel = std::make_unique<TimerWheel>(io.get_executor(), std::chrono::milliseconds(1000));
    wheel->start();
    counter->ready = &ready;
    accept = [&] {
      acceptor.async_accept(asio::make_strand(io), [&](boost::system::error_code ec, tcp::socket socket) {
        if (ec) return;
        std::make_shared<Connection<tcp::socket>>(std::move(socket), options, *wheel, counter)->run();
        accept();
      });
    };
    accept();
  });
}

// Beast, configured as parleyd configures it today (ws/websocket_server.cpp):
// keep-alive pings and idle timeout, permessage-deflate offered, a
// flat_buffer per session for reads.
struct BeastSession : std::enable_shared_from_this<BeastSession> {
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buffer;
  explicit BeastSession(tcp::socket s) : ws(std::move(s)) {}
  void start(std::atomic<int>& ready) {
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(60);
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    websocket::permessage_deflate deflate;
    deflate.server_enable = true;
    ws.set_option(deflate);
    ws.read_message_max(1 << 20);
    ws.async_accept([self = shared_from_this(), &ready](boost::system::error_code ec) {
      if (ec) return;
      ++ready;
      self->read();
    });
  }
  void read() {
    ws.async_read(buffer, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (!ec) self->read();
    });
  }
};

IdleResult idle_beast(int n) {
  std::function<void()> accept;
  return measure_idle(n, [&](asio::io_context& io, tcp::acceptor& acceptor, std::atomic<int>& ready) {
    accept = [&] {
      acceptor.async_accept(asio::make_strand(io), [&](boost::system::error_code ec, tcp::socket socket) {
        if (ec) return;
        std::make_shared<BeastSession>(std::move(socket))->start(ready);
        accept();
      });
    };
    accept();
  });
}

// --- CPU per frame

template <class F>
double median_ns_per_op(int ops, F&& f) {
  std::vector<double> runs;
  for (int r = 0; r < 7; ++r) {
    auto t0 = Clock::now();
    f();
    runs.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / ops);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

std::string masked_frame(const std::string& payload) {
  std::string out;
  out.push_back('\x81');
  out.push_back(static_cast<char>(0x80 | payload.size()));
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

struct Sink : ReaderHandler {
  std::size_t bytes = 0;
  void on_message(Opcode, std::string&& p) override { bytes += p.size(); }
  void on_ping(std::string_view) override {}
  void on_pong(std::string_view) override {}
  void on_close(std::uint16_t, std::string_view) override {}
};

void frames() {
  const int kFrames = 20000;
  std::string payload =
      R"({"type":"send","conversation_id":42,"client_id":"a1b2c3d4","body":"hello there, how are you"})";
  payload.resize(100, ' ');
  std::string stream;
  for (int i = 0; i < kFrames; ++i) stream += masked_frame(payload);
  Sink sink;
  double parse = median_ns_per_op(kFrames, [&] {
    Reader reader({});
    (void)reader.feed(reinterpret_cast<const std::uint8_t*>(stream.data()), stream.size(), sink);
  });
  double parse_split = median_ns_per_op(kFrames, [&] {
    Reader reader({});
    for (std::size_t i = 0; i < stream.size(); i += 1500) {  // one Ethernet MTU per read
      std::size_t n = std::min<std::size_t>(1500, stream.size() - i);
      (void)reader.feed(reinterpret_cast<const std::uint8_t*>(stream.data()) + i, n, sink);
    }
  });
  std::vector<asio::const_buffer> buffers;
  double serialise = median_ns_per_op(kFrames, [&] {
    OutboundQueue queue(1 << 30);
    for (int i = 0; i < kFrames; ++i) {
      (void)queue.push(PreparedMessage::make(Opcode::kText, payload), false);
      if (i % 16 == 15) {  // a batch of 16 frames per write
        buffers.clear();
        queue.gather(buffers);
        queue.consume(queue.bytes());
      }
    }
  });
  const int kRecipients = 100, kMessages = 200;
  double fanout = median_ns_per_op(kRecipients * kMessages, [&] {
    std::vector<OutboundQueue> queues(kRecipients, OutboundQueue(1 << 30));
    for (int m = 0; m < kMessages; ++m) {
      auto shared = PreparedMessage::make(Opcode::kText, payload);  // framed once
      for (auto& q : queues) (void)q.push(shared, false);
    }
    for (auto& q : queues) {
      buffers.clear();
      q.gather(buffers);
      q.consume(q.bytes());
    }
  });
  long long a0 = g_allocation_calls;
  {
    Reader reader({});
    (void)reader.feed(reinterpret_cast<const std::uint8_t*>(stream.data()), stream.size(), sink);
  }
  double allocs_per_parse = static_cast<double>(g_allocation_calls - a0) / kFrames;
  a0 = g_allocation_calls;
  {
    OutboundQueue queue(1 << 30);
    for (int i = 0; i < kFrames; ++i) (void)queue.push(PreparedMessage::make(Opcode::kText, payload), false);
  }
  double allocs_per_serialise = static_cast<double>(g_allocation_calls - a0) / kFrames;
  std::printf("frames (100-byte text, medians of 7 runs of %d frames)\n", kFrames);
  std::printf("  parse, one buffer        %7.1f ns/frame\n", parse);
  std::printf("  parse, 1500-byte reads   %7.1f ns/frame\n", parse_split);
  std::printf("  serialise, 16 per write  %7.1f ns/frame\n", serialise);
  std::printf("  fan-out to 100 queues    %7.1f ns/recipient\n", fanout);
  std::printf("  allocations per frame: parse %.2f (the message's string, handed over), serialise %.2f\n",
              allocs_per_parse, allocs_per_serialise);
}

}  // namespace

int main(int argc, char** argv) {
  int n = 2000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--connections") n = std::atoi(argv[i + 1]);
  }
  if (n <= 0) n = 2000;
  IdleResult ours = idle_wsproto(n);
  IdleResult beast_result = idle_beast(n);
  std::printf("idle connections (%d, server side, per connection)\n", n);
  std::printf("  %-28s %8s %8s %8s\n", "", "heap B", "allocs", "RSS B");
  std::printf("  %-28s %8.0f %8.1f %8.0f\n", "wsproto::Connection", ours.heap_bytes, ours.allocations, ours.rss_bytes);
  std::printf("  %-28s %8.0f %8.1f %8.0f\n", "beast::websocket::stream", beast_result.heap_bytes,
              beast_result.allocations, beast_result.rss_bytes);
  std::printf("  ratio (wsproto / beast)      %8.2f %8.2f %8.2f\n", ours.heap_bytes / beast_result.heap_bytes,
              ours.allocations / beast_result.allocations, ours.rss_bytes / beast_result.rss_bytes);
  frames();
}
