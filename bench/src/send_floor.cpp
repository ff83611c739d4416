// parley-send-floor: what the kernel alone charges a chat server per message
// on this machine, with no WebSocket, no JSON and no storage: the floor under
// the "server CPU per message / per delivery" figures of parley-bench
// (docs/benchmarks.md, "The kernel's floor").
//
// A "client" thread opens N loopback TCP connections, writes fixed-size send
// frames at an open-loop rate (round robin over the connections) and drains
// whatever comes back. A "server" thread, the one measured, does what any
// server that writes one frame per system call must do for each send: wait
// in epoll, read the frame, write an ack of `--ack` bytes to the sender and
// the message (`--frame` bytes) to each recipient: the partner (`pairs`, as
// parley-bench's pairs scenario pairs connections 2k and 2k+1) or the other
// members of the sender's group (`group`, connections split into groups of
// `--group`). Its CPU time (CLOCK_THREAD_CPUTIME_ID: on loopback this
// includes the receiving side's TCP work, which the kernel runs in the
// sender's context, as it does for parleyd and node-ws) is divided by the
// messages and by the deliveries of the measured window.
//
// Prints one JSON object.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode = "pairs";
  int connections = 200;
  int group = 100;
  double rate = 6000;
  int frame = 220;  // about a message.new frame of parley-bench's text
  int ack = 150;    // about an ack frame
  double warmup = 1;
  double seconds = 5;
};

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string(what) + ": " + std::strerror(errno)); }

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void set_nodelay_nonblocking(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) fail("TCP_NODELAY");
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) fail("O_NONBLOCK");
}

// N connected pairs of loopback sockets: clients[i] talks to servers[i].
void connect_pairs(int n, std::vector<int>& clients, std::vector<int>& servers) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 1024) != 0 || ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    fail("listen");
  }
  for (int i = 0; i < n; ++i) {
    int client = ::socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("connect");
    int server = ::accept(listener, nullptr, nullptr);
    if (server < 0) fail("accept");
    set_nodelay_nonblocking(client);
    set_nodelay_nonblocking(server);
    clients.push_back(client);
    servers.push_back(server);
  }
  ::close(listener);
}

struct ServerResult {
  long messages = 0;
  long deliveries = 0;
  long would_block = 0;  // writes the socket refused (a full buffer): not counted as deliveries
  double cpu_seconds = 0;
  double seconds = 0;
};

// The measured thread.
ServerResult serve(const Options& options, const std::vector<int>& sockets, const std::atomic<bool>& stop) {
  int epoll = ::epoll_create1(0);
  if (epoll < 0) fail("epoll_create1");
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, sockets[i], &event) != 0) fail("epoll_ctl");
  }
  const std::string ack(static_cast<std::size_t>(options.ack), 'a');
  const std::string message(static_cast<std::size_t>(options.frame), 'm');
  std::vector<long> pending(sockets.size(), 0);  // bytes of a send frame read so far, per connection
  std::vector<char> buffer(64 * 1024);
  std::vector<epoll_event> events(256);

  ServerResult window;
  bool measuring = false;
  double cpu_at_start = 0;
  Clock::time_point started;
  const auto measure_from = Clock::now() + std::chrono::duration<double>(options.warmup);
  auto deliver = [&](int fd, const std::string& bytes) {
    if (::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())) return true;
    ++window.would_block;
    return false;
  };
  while (!stop.load(std::memory_order_relaxed)) {
    if (!measuring && Clock::now() >= measure_from) {
      measuring = true;
      window = {};
      cpu_at_start = thread_cpu_seconds();
      started = Clock::now();
    }
    int ready = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < ready; ++e) {
      const auto from = static_cast<std::size_t>(events[e].data.u64);
      ssize_t got = 0;
      while ((got = ::read(sockets[from], buffer.data(), buffer.size())) > 0) {
        // Fixed-size send frames: each completed one is a message.
        long frames = (pending[from] + got) / options.frame;
        pending[from] = (pending[from] + got) % options.frame;
        for (long f = 0; f < frames; ++f) {
          ++window.messages;
          deliver(sockets[from], ack);
          if (options.mode == "pairs") {
            window.deliveries += deliver(sockets[from ^ 1U], message) ? 1 : 0;
          } else {
            const std::size_t first = from / static_cast<std::size_t>(options.group) * options.group;
            const std::size_t end = std::min(sockets.size(), first + static_cast<std::size_t>(options.group));
            for (std::size_t to = first; to < end; ++to) {
              if (to != from) window.deliveries += deliver(sockets[to], message) ? 1 : 0;
            }
          }
        }
      }
    }
  }
  window.cpu_seconds = thread_cpu_seconds() - cpu_at_start;
  window.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  ::close(epoll);
  return window;
}

// Sends at the rate and drains; not measured.
void drive(const Options& options, const std::vector<int>& sockets, const std::atomic<bool>& stop) {
  int epoll = ::epoll_create1(0);
  for (int fd : sockets) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
  }
  const std::string send(static_cast<std::size_t>(options.frame), 's');
  std::vector<char> sink(256 * 1024);
  std::vector<epoll_event> events(256);
  const auto start = Clock::now();
  long sent = 0;
  std::size_t next = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const auto due = static_cast<long>(elapsed * options.rate);
    for (; sent < due; ++sent, next = (next + 1) % sockets.size()) {
      if (::write(sockets[next], send.data(), send.size()) < 0 && errno != EAGAIN) fail("client write");
    }
    int ready = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 1);
    for (int e = 0; e < ready; ++e) {
      while (::read(events[e].data.fd, sink.data(), sink.size()) > 0) {
      }
    }
  }
  ::close(epoll);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"The kernel's CPU per message and per delivery for a server writing one frame per system call"};
  app.add_option("--mode", options.mode, "pairs | group")->check(CLI::IsMember({"pairs", "group"}));
  app.add_option("--connections", options.connections, "loopback connections (even)")->check(CLI::Range(2, 20000));
  app.add_option("--group", options.group, "members per group in group mode")->check(CLI::Range(2, 20000));
  app.add_option("--rate", options.rate, "sends per second, open loop")->check(CLI::Range(1.0, 1e6));
  app.add_option("--frame", options.frame, "bytes of a send and of a delivered message")->check(CLI::Range(16, 65536));
  app.add_option("--ack", options.ack, "bytes of an ack")->check(CLI::Range(1, 65536));
  app.add_option("--warmup", options.warmup, "seconds before the window");
  app.add_option("--seconds", options.seconds, "seconds measured");
  CLI11_PARSE(app, argc, argv);
  if (options.connections % 2 != 0) options.connections += 1;

  try {
    std::vector<int> clients;
    std::vector<int> servers;
    connect_pairs(options.connections, clients, servers);
    std::atomic<bool> stop{false};
    ServerResult result;
    std::thread server([&] { result = serve(options, servers, stop); });
    std::thread client([&] { drive(options, clients, stop); });
    std::this_thread::sleep_for(std::chrono::duration<double>(options.warmup + options.seconds));
    stop = true;
    server.join();
    client.join();
    const double per = result.messages > 0 ? result.cpu_seconds * 1e6 / static_cast<double>(result.messages) : 0;
    const double per_delivery =
        result.deliveries > 0 ? result.cpu_seconds * 1e6 / static_cast<double>(result.deliveries) : 0;
    std::printf(
        "{\"mode\": \"%s\", \"connections\": %d, \"group\": %d, \"rate\": %.0f, \"frame\": %d, \"ack\": %d, "
        "\"seconds\": %.2f, \"messages\": %ld, \"deliveries\": %ld, \"would_block\": %ld, "
        "\"server_cpu_cores\": %.3f, \"server_cpu_us_per_message\": %.2f, \"server_cpu_us_per_delivery\": %.2f}\n",
        options.mode.c_str(), options.connections, options.group, options.rate, options.frame, options.ack,
        result.seconds, result.messages, result.deliveries, result.would_block,
        result.seconds > 0 ? result.cpu_seconds / result.seconds : 0, per, per_delivery);
    for (int fd : clients) ::close(fd);
    for (int fd : servers) ::close(fd);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parley-send-floor: %s\n", error.what());
    return 1;
  }
  return 0;
}
