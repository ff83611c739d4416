// The address of the client behind a request, for throttling and logs.
//
// Normally that is the TCP peer. Behind a reverse proxy every request comes
// from the proxy, and the client's address is only in a header the proxy
// adds (X-Forwarded-For, or Forwarded from RFC 7239). Anyone can send such a
// header, so it is believed only when the TCP peer is a proxy the operator
// listed (http.trusted_proxies), and only as far as the chain of trusted
// proxies reaches: each proxy appends the address it received the request
// from, so the chain is read from the right, skipping trusted proxies, and
// the first address that is not a trusted proxy is the client. Whatever lies
// to the left of it was written by the client itself and is ignored.
//
// Thread-safe: a TrustedProxies is immutable once built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/beast/http/fields.hpp>

namespace parley::http {

// Which header a trusted proxy writes the client chain into.
enum class ForwardedHeader {
  kXForwardedFor,  // X-Forwarded-For: client, proxy1, proxy2
  kForwarded,      // Forwarded: for=client, for="[2001:db8::1]:4711" (RFC 7239)
};

class TrustedProxies {
 public:
  TrustedProxies() = default;

  // Parses addresses ("10.0.0.1", "::1") and CIDR blocks ("10.0.0.0/8",
  // "fd00::/8"). Throws ConfigError naming the first entry that is neither.
  [[nodiscard]] static TrustedProxies parse(const std::vector<std::string>& entries);

  // Whether `address` is listed (an IPv4-mapped IPv6 address counts as its
  // IPv4 address).
  [[nodiscard]] bool contains(const boost::asio::ip::address& address) const;
  [[nodiscard]] bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

// Parses a configuration value: "x-forwarded-for" or "forwarded" (any case).
// Throws ConfigError otherwise.
[[nodiscard]] ForwardedHeader parse_forwarded_header(std::string_view name);

// The client's address as text. `peer` is the TCP peer's address (text as
// from address::to_string(), or anything else when unknown). `header_values`
// are the values of every instance of the chosen header, in the order
// received. Returns `peer` unchanged unless it is a trusted proxy; otherwise
// the right-most address of the chain that is not a trusted proxy (or the
// left-most one if all are trusted). An element that is not an address
// ("unknown", an obfuscated name, garbage) ends the walk: the last trusted
// hop, which handed it over, is returned instead.
[[nodiscard]] std::string client_address(std::string_view peer, const std::vector<std::string_view>& header_values,
                                         ForwardedHeader header, const TrustedProxies& trusted);

// The same, reading the header from a request's fields.
[[nodiscard]] std::string request_client_address(std::string_view peer, const boost::beast::http::fields& fields,
                                                 ForwardedHeader header, const TrustedProxies& trusted);

}  // namespace parley::http
