#include "media_load.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <atomic>
#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "histogram.hpp"
#include "proc_stats.hpp"

namespace parley::bench {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::json::object;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// What the connections share. Bytes and requests count only while
// `measuring`; errors count always (a failure during warmup is a failure).
struct Shared {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> transport_errors{0};
  std::atomic<std::uint64_t> length_mismatches{0};
  std::mutex mutex;  // guards the two below
  std::map<int, std::uint64_t> statuses;
  std::vector<std::string> samples;
  void note_error(std::string what) {
    std::lock_guard lock(mutex);
    if (samples.size() < 5) samples.push_back(std::move(what));
  }
};

struct Connection {
  int index = 0;
  Histogram latency_us;
};

// A response's head: status, Content-Length, whether the server will close.
struct Head {
  int status = 0;
  std::optional<std::uint64_t> content_length;
  bool close = false;
};

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

std::optional<Head> parse_head(std::string_view text) {
  Head head;
  auto line_end = text.find("\r\n");
  std::string_view status_line = text.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
  auto code = status_line.substr(9, 3);
  if (std::from_chars(code.data(), code.data() + 3, head.status).ec != std::errc{}) return std::nullopt;
  std::size_t pos = line_end + 2;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (iequals(name, "Content-Length")) {
      std::uint64_t n = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), n).ec != std::errc{}) return std::nullopt;
      head.content_length = n;
    } else if (iequals(name, "Connection") && iequals(value, "close")) {
      head.close = true;
    } else if (iequals(name, "Transfer-Encoding")) {
      return std::nullopt;  // neither parleyd nor nginx chunk these responses
    }
  }
  // No body by definition (nginx's PUT over an existing file is a 204).
  if (head.status == 204 || head.status == 304) head.content_length = 0;
  return head;
}

std::string replace_all(std::string text, std::string_view what, std::string_view with) {
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
  return text;
}

// One keep-alive connection repeating its request until told to stop. A
// failed connection is reopened (and counted) so one error does not silence
// a connection for the rest of the run.
awaitable<void> connection_loop(const MediaOptions& options, Shared& shared, Connection& self,
                                const std::string& body_tail, std::uint64_t run_id) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_error, endpoints] = co_await resolver.async_resolve(options.host, options.port, kNoThrow);
  if (resolve_error) {
    shared.transport_errors++;
    shared.note_error("resolve: " + resolve_error.message());
    co_return;
  }
  const bool upload = options.method != "GET";
  std::string target = replace_all(options.target, "{c}", std::to_string(self.index));
  std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: parley-bench\r\n", options.method,
                                    target, options.host, options.port);
  if (!options.token.empty()) request += "Authorization: Bearer " + options.token + "\r\n";
  if (upload) request += fmt::format("Content-Type: application/octet-stream\r\nContent-Length: {}\r\n", options.body_bytes);
  request += "\r\n";
  // A discard buffer: the bytes are counted, not kept (the script checks
  // one copy's SHA-256 separately).
  std::vector<char> sink(256 * 1024);
  std::uint64_t sequence = 0;

  while (!shared.stopping) {
    tcp::socket socket(executor);
    auto [connect_error, endpoint] = co_await asio::async_connect(socket, endpoints, kNoThrow);
    if (connect_error) {
      shared.transport_errors++;
      shared.note_error("connect: " + connect_error.message());
      co_return;
    }
    socket.set_option(tcp::no_delay(true));
    asio::streambuf head_buffer(64 * 1024);
    bool reopen = false;
    while (!shared.stopping && !reopen) {
      auto start = Clock::now();
      boost::system::error_code error;
      std::size_t n = 0;
      if (upload) {
        // The first bytes make each body unique: run, connection, sequence.
        std::string prefix = fmt::format("{:016x}{:08x}{:016x}", run_id, self.index, sequence++);
        prefix.resize(std::min<std::uint64_t>(prefix.size(), options.body_bytes));
        std::array<asio::const_buffer, 3> buffers{
            asio::buffer(request), asio::buffer(prefix),
            asio::buffer(body_tail.data(), options.body_bytes - prefix.size())};
        std::tie(error, n) = co_await asio::async_write(socket, buffers, kNoThrow);
        if (shared.measuring && n > request.size()) shared.bytes += n - request.size();
      } else {
        std::tie(error, n) = co_await asio::async_write(socket, asio::buffer(request), kNoThrow);
      }
      if (error) break;
      std::tie(error, n) = co_await asio::async_read_until(socket, head_buffer, "\r\n\r\n", kNoThrow);
      if (error) break;
      std::string_view text(static_cast<const char*>(head_buffer.data().data()), n);
      auto head = parse_head(text);
      head_buffer.consume(n);
      if (!head || !head->content_length) {
        shared.transport_errors++;
        shared.note_error("unparsable response head");
        reopen = true;
        break;
      }
      // The body: whatever arrived with the head, then reads into the sink.
      std::uint64_t remaining = *head->content_length;
      std::uint64_t buffered = std::min<std::uint64_t>(remaining, head_buffer.size());
      head_buffer.consume(buffered);
      remaining -= buffered;
      std::uint64_t received = buffered;
      while (remaining > 0) {
        std::tie(error, n) = co_await socket.async_read_some(
            asio::buffer(sink.data(), std::min<std::uint64_t>(sink.size(), remaining)), kNoThrow);
        if (error) break;
        remaining -= n;
        received += n;
        if (!upload && shared.measuring) shared.bytes += n;
      }
      if (error) break;
      if (!upload && shared.measuring) shared.bytes += buffered;
      {
        std::lock_guard lock(shared.mutex);
        shared.statuses[head->status]++;
      }
      if (head->status < 200 || head->status > 299) {
        shared.note_error(fmt::format("status {}", head->status));
      } else if (!upload && options.expect_bytes != 0 && received != options.expect_bytes) {
        shared.length_mismatches++;
        shared.note_error(fmt::format("body of {} bytes, expected {}", received, options.expect_bytes));
      }
      if (shared.measuring) {
        shared.requests++;
        self.latency_us.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
      }
      if (head->close) reopen = true;
    }
    if (!reopen && !shared.stopping) {
      // A read or write failed while the run was on: the server dropped us.
      shared.transport_errors++;
      shared.note_error("connection lost");
    }
    boost::system::error_code ignored;
    socket.close(ignored);
  }
}

struct ServerSample {
  double cpu_seconds = 0;
  long rss_kib = 0;
  std::map<std::string, double> threads;
  bool complete = true;
};

ServerSample sample_servers(const std::vector<int>& pids) {
  ServerSample total;
  for (int pid : pids) {
    auto sample = sample_process(pid);
    if (!sample) {
      total.complete = false;
      continue;
    }
    total.cpu_seconds += sample->cpu_seconds;
    total.rss_kib += sample->rss_kib;
    for (const auto& [name, seconds] : sample->thread_cpu_seconds) total.threads[name] += seconds;
  }
  return total;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

int run_media(const MediaOptions& options) {
  if (options.method != "GET" && options.body_bytes < 40) throw std::invalid_argument("--body-bytes: at least 40 for uploads");
  if (options.connections < 1 || options.threads < 1) throw std::invalid_argument("--connections/--threads: at least 1");
  if (options.duration <= 0) throw std::invalid_argument("--duration: must be positive");
  std::random_device seed;
  std::mt19937_64 random(seed());
  const std::uint64_t run_id = random();
  // The uploads' common tail: random bytes, so that compression or
  // deduplication by chunks would gain nothing.
  std::string body_tail;
  if (options.method != "GET") {
    body_tail.resize(options.body_bytes);
    for (std::size_t i = 0; i + 8 <= body_tail.size(); i += 8) {
      std::uint64_t word = random();
      std::memcpy(body_tail.data() + i, &word, 8);
    }
  }

  Shared shared;
  std::vector<Connection> connections(static_cast<std::size_t>(options.connections));
  asio::io_context io(options.threads);
  for (int i = 0; i < options.connections; ++i) {
    connections[i].index = i;
    asio::co_spawn(io, connection_loop(options, shared, connections[i], body_tail, run_id), asio::detached);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });

  auto sleep_for = [](double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); };
  sleep_for(options.warmup);
  auto before = sample_servers(options.server_pids);
  double tool_before = own_cpu_seconds();
  auto window_start = Clock::now();
  shared.measuring = true;
  long rss_max = before.rss_kib;
  auto deadline = window_start + std::chrono::duration<double>(options.duration);
  while (Clock::now() < deadline) {
    sleep_for(std::min(0.5, std::chrono::duration<double>(deadline - Clock::now()).count()));
    rss_max = std::max(rss_max, sample_servers(options.server_pids).rss_kib);
  }
  shared.measuring = false;
  auto after = sample_servers(options.server_pids);
  double tool_cpu = own_cpu_seconds() - tool_before;
  double window = std::chrono::duration<double>(Clock::now() - window_start).count();
  shared.stopping = true;
  io.stop();
  for (auto& thread : threads) thread.join();

  Histogram latency;
  for (const auto& c : connections) latency.merge(c.latency_us);
  const std::uint64_t bytes = shared.bytes, requests = shared.requests;
  std::uint64_t non_2xx = 0;
  object statuses;
  for (const auto& [status, count] : shared.statuses) {
    statuses[std::to_string(status)] = count;
    if (status < 200 || status > 299) non_2xx += count;
  }
  const std::uint64_t errors = non_2xx + shared.transport_errors + shared.length_mismatches;
  const double mib_moved = mib(bytes);

  object report{{"tool", "parley-bench"},
                {"mode", options.method == "GET" ? "media-download" : "media-upload"},
                {"label", options.label},
                {"config",
                 {{"method", options.method},
                  {"target", options.target},
                  {"connections", options.connections},
                  {"threads", options.threads},
                  {"duration", options.duration},
                  {"warmup", options.warmup},
                  {"body_bytes", options.body_bytes},
                  {"expect_bytes", options.expect_bytes}}},
                {"window_seconds", window},
                {"throughput",
                 {{"bytes", bytes},
                  {"requests", requests},
                  {"mib_per_s", mib_moved / window},
                  {"requests_per_s", static_cast<double>(requests) / window}}},
                {"latency_us", latency.summary()},
                {"tool_process",
                 {{"cpu_seconds", tool_cpu},
                  {"cpu_cores", tool_cpu / window},
                  {"cpu_ms_per_mib", mib_moved > 0 ? tool_cpu * 1000 / mib_moved : 0.0}}},
                {"errors",
                 {{"total", errors},
                  {"non_2xx", non_2xx},
                  {"transport", shared.transport_errors.load()},
                  {"length_mismatches", shared.length_mismatches.load()},
                  {"statuses", statuses},
                  {"samples", boost::json::value_from(shared.samples)}}}};
  if (!options.server_pids.empty()) {
    double cpu = after.cpu_seconds - before.cpu_seconds;
    object by_thread;
    for (const auto& [name, seconds] : after.threads) {
      double delta = seconds - (before.threads.contains(name) ? before.threads.at(name) : 0.0);
      by_thread[name] = object{{"cpu_seconds", delta}, {"cpu_cores", delta / window}};
    }
    report["server_process"] = object{{"pids", boost::json::value_from(options.server_pids)},
                                      {"complete", before.complete && after.complete},
                                      {"cpu_seconds", cpu},
                                      {"cpu_cores", cpu / window},
                                      {"cpu_ms_per_mib", mib_moved > 0 ? cpu * 1000 / mib_moved : 0.0},
                                      {"rss_before_kib", before.rss_kib},
                                      {"rss_end_kib", after.rss_kib},
                                      {"rss_max_kib", std::max(rss_max, after.rss_kib)},
                                      {"threads", by_thread}};
  }

  std::cout << fmt::format("{} {} {}: {:.1f} MiB/s, {:.1f} req/s, latency p50 {:.1f} ms p99 {:.1f} ms, errors {}\n",
                           options.label, report["mode"].as_string().c_str(), options.method, mib_moved / window,
                           static_cast<double>(requests) / window, latency.percentile(50) / 1000.0,
                           latency.percentile(99) / 1000.0, errors);
  if (auto* server = report.if_contains("server_process")) {
    const auto& s = server->as_object();
    std::cout << fmt::format("  server: {:.2f} cores, {:.2f} CPU-ms/MiB, RSS {} KiB (max {} KiB)\n",
                             s.at("cpu_cores").to_number<double>(), s.at("cpu_ms_per_mib").to_number<double>(),
                             s.at("rss_end_kib").to_number<long>(), s.at("rss_max_kib").to_number<long>());
  }
  std::cout << fmt::format("  tool:   {:.2f} cores, {:.2f} CPU-ms/MiB\n", tool_cpu / window,
                           mib_moved > 0 ? tool_cpu * 1000 / mib_moved : 0.0);
  for (const auto& sample : shared.samples) std::cout << "  error: " << sample << '\n';
  std::cout << std::flush;
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << boost::json::serialize(report) << '\n';
    if (!out) throw std::runtime_error("cannot write " + options.json_path);
  }
  if (options.check && (errors > 0 || requests == 0)) {
    std::cerr << fmt::format("parley-bench media: check failed: {} errors, {} requests completed\n", errors, requests);
    return 3;
  }
  return 0;
}

}  // namespace parley::bench
