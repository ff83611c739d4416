// What a push endpoint may be: the checks on the URL a browser registers,
// and which network addresses the server refuses to send to (SSRF).
//
// A push endpoint is a URL chosen by whoever registers it, and the server
// POSTs to it: without these checks any user could make parleyd send
// requests to the machines of its own network. Pure functions, thread-safe.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::push {

// The longest endpoint accepted. Real ones (FCM, Mozilla autopush, Apple,
// Windows) are under 500 characters.
inline constexpr std::size_t kMaxEndpointLength = 1024;

// A parsed https endpoint.
struct Endpoint {
  std::string host;  // a name, or an IP address without brackets
  std::uint16_t port = 443;
  std::string target;  // path and query, "/" at least
  std::string origin;  // "https://host[:port]": the JWT's audience (RFC 8292 §2)
};

// Parses and checks `url`: https only, at most kMaxEndpointLength, an
// absolute URL with a host and no user information or fragment. Returns the
// reason (for a 422 message) when it is not acceptable.
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view url, std::string* reason);

// True for addresses no push service lives at: loopback, private (RFC 1918,
// IPv6 unique local), link-local, carrier-grade NAT, unspecified,
// multicast, broadcast, documentation and other reserved ranges, and
// IPv4-mapped IPv6 forms of them.
[[nodiscard]] bool is_non_public(const boost::asio::ip::address& address);

// True when `host` is an IP literal that is_non_public, or a name that is
// local by definition ("localhost" and names under it).
[[nodiscard]] bool is_obviously_private_host(std::string_view host);

}  // namespace parley::push
