// Fuzz target for the HTTP request path: the bytes a client sends on one
// connection, parsed by Beast under the server's limits, checked for
// ambiguous framing, routed through the real route table, and counted in the
// metrics, with the same functions the server calls (http/request_policy.hpp).
//
// Properties checked, beyond "no crash, leak or undefined behaviour":
//   - dispatch() never throws, and answers with a status from 100 to 599;
//   - a request that reaches a handler carries every parameter of its
//     route's pattern, non-empty (the router's promise to handlers);
//   - the route label is a registered pattern or "other", and the method
//     label one of eight values, whatever the request says.
//
// The route table is the real one (from the server's own registration, see
// LLVMFuzzerInitialize), but each handler answers at once instead of running:
// handlers touch the database and the password hashing pool, which would make
// runs slow and their results depend on earlier inputs. Request bodies are
// fuzzed by the JSON body target.
//
// Input: the first byte chooses how the bytes arrive (all at once, or in
// pieces of 1 to 255 bytes, as a socket may deliver them); the rest is what
// the client sent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "app/server_app.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "http/request_policy.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// At most this many pipelined requests are read from one input.
constexpr int kMaxRequests = 32;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz_http_request: property violated: %s\n", what);
  std::abort();
}

std::vector<std::string> parameters_of(std::string_view pattern) {
  std::vector<std::string> names;
  for (std::size_t open = pattern.find('{'); open != std::string_view::npos; open = pattern.find('{', open + 1)) {
    auto close = pattern.find('}', open);
    names.emplace_back(pattern.substr(open + 1, close - open - 1));
  }
  return names;
}

struct Harness {
  // Small limits, so that inputs of libFuzzer's usual sizes reach them.
  parley::HttpOptions options = [] {
    parley::HttpOptions o;
    o.max_header_bytes = 1024;
    o.max_body_bytes = 1024;
    return o;
  }();
  parley::http::Router router;
  std::set<std::string, std::less<>> patterns;
  parley::metrics::Metrics metrics;
  asio::io_context io;
};

Harness* harness = nullptr;

// The "METHOD /pattern" list of the real server: a ServerApp is built on a
// throw-away data folder, asked for its routes and destroyed.
std::vector<std::string> real_routes() {
  char folder[] = "/tmp/parley-fuzz-XXXXXX";
  if (::mkdtemp(folder) == nullptr) violated("mkdtemp failed");
  std::vector<std::string> routes;
  {
    parley::Config config;
    config.data_dir = folder;
    config.auth.password_memory_bytes = 19ULL * 1024 * 1024;
    config.auth.hash_workers = 1;
    parley::app::ServerApp app(config);
    routes = app.route_list();
  }
  std::filesystem::remove_all(folder);
  return routes;
}

// Reads from `input` into `buffer` `piece` bytes at a time (0: all at once)
// and feeds `parser` until it has its header (or the whole message), as
// Beast's read_header() and read() do on a socket. An input that ends early
// is a peer that closed.
boost::system::error_code read(parley::http::RequestParser& parser, beast::flat_buffer& buffer, std::string_view& input,
                               std::size_t piece, bool header_only) {
  parser.eager(!header_only);
  boost::system::error_code ec;
  for (;;) {
    if (header_only ? parser.is_header_done() : parser.is_done()) return {};
    if (buffer.size() > 0) {
      std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec && used > 0) continue;
      if (ec && ec != bhttp::error::need_more) return ec;
    }
    if (input.empty()) {
      parser.put_eof(ec);
      if (ec) return ec;
      if (header_only ? parser.is_header_done() : parser.is_done()) return {};
      return bhttp::error::partial_message;
    }
    std::size_t n = piece == 0 ? input.size() : std::min(piece, input.size());
    auto space = buffer.prepare(n);
    std::memcpy(space.data(), input.data(), n);
    buffer.commit(n);
    input.remove_prefix(n);
  }
}

void check_labels(std::string_view method, std::string_view route) {
  auto label = parley::metrics::Metrics::method_label(method);
  static const std::set<std::string_view> kMethods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
  if (!kMethods.contains(label)) violated("method label outside the bounded set");
  if (route != parley::http::kUnmatchedRoute && !harness->patterns.contains(route)) {
    violated("route label is not a registered pattern");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);
  parley::log::init("off");
  harness = new Harness();  // lives for the process
  for (const std::string& line : real_routes()) {
    auto space = line.find(' ');
    std::string method = line.substr(0, space);
    std::string pattern = line.substr(space + 1);
    harness->patterns.insert(pattern);
    auto names = parameters_of(pattern);
    harness->router.add(method, pattern,
                        [names](parley::http::Request& request) -> asio::awaitable<parley::http::Response> {
                          for (const auto& name : names) {
                            auto found = request.params.find(name);
                            if (found == request.params.end() || found->second.empty()) {
                              violated("a route parameter is missing or empty");
                            }
                          }
                          co_return parley::http::Response::no_content();
                        });
  }
  if (harness->patterns.empty()) violated("no routes registered");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  beast::flat_buffer buffer;

  for (int i = 0; i < kMaxRequests; ++i) {
    if (input.empty() && buffer.size() == 0) break;  // the client closed between requests
    parley::http::RequestParser parser;
    parley::http::apply_limits(parser, harness->options);
    parser.body_limit(boost::none);  // as in the server: limit_body() sets it once the header is read
    auto ec = read(parser, buffer, input, piece, /*header_only=*/true);
    if (!ec) {
      // As in the server: a refused framing, or a declared length over the
      // limit, closes the connection before anything after the header is
      // read. (The real route table has no streaming route here: its
      // handlers never read a body.)
      if (parley::http::check_framing(parser)) {
        check_labels(parser.get().method_string(), parley::http::kUnmatchedRoute);
        break;
      }
      if (auto refusal = parley::http::limit_body(parser, harness->options.max_body_bytes)) {
        if (parley::http::Response::error(*refusal).status != 413) violated("a body over the limit not answered 413");
        break;
      }
      ec = read(parser, buffer, input, piece, /*header_only=*/false);
    }
    if (ec) {
      auto failure = parley::http::classify_read_error(ec, harness->options);
      if (failure.answer) {
        auto response = parley::http::Response::error(*failure.answer);
        if (response.status < 400 || response.status > 599) violated("a read error answered with a non-error status");
      }
      break;  // answered (or not) and closed
    }
    const auto& message = parser.get();
    if (beast::websocket::is_upgrade(message) && message.target() == "/ws") break;  // the WebSocket targets' part

    std::string route(parley::http::kUnmatchedRoute);
    std::optional<parley::http::Response> response;
    std::exception_ptr failure;
    asio::co_spawn(harness->io, parley::http::dispatch(harness->router, message, "192.0.2.1", route),
                   [&](std::exception_ptr e, parley::http::Response r) {
                     failure = e;
                     response = std::move(r);
                   });
    harness->io.restart();
    harness->io.run();
    if (failure) violated("dispatch threw");
    if (!response) violated("dispatch did not complete");
    if (response->status < 100 || response->status > 599) violated("status outside 100-599");
    check_labels(message.method_string(), route);
    harness->metrics.observe_request(message.method_string(), route, response->status, std::chrono::seconds(0));
    if (!message.keep_alive()) break;
  }
  return 0;
}
