#include "push/endpoint.hpp"

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <cctype>

namespace parley::push {
namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

bool v4_non_public(const boost::asio::ip::address_v4& a) {
  auto b = a.to_bytes();
  auto in = [&](std::uint8_t o0, int prefix_bits, std::uint8_t o1 = 0) {
    std::uint32_t value = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    std::uint32_t net = (std::uint32_t{o0} << 24) | (std::uint32_t{o1} << 16);
    std::uint32_t mask = prefix_bits == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_bits);
    return (value & mask) == (net & mask);
  };
  return in(0, 8) ||                                    // "this" network, 0.0.0.0
         in(10, 8) ||                                   // private
         in(100, 10, 64) ||                             // carrier-grade NAT 100.64/10
         in(127, 8) ||                                  // loopback
         in(169, 16, 254) ||                            // link-local (and cloud metadata services)
         in(172, 12, 16) ||                             // private 172.16/12
         in(192, 24, 0) ||                              // IETF protocol assignments 192.0.0/24 (and 192.0.2/24 below)
         (b[0] == 192 && b[1] == 0 && b[2] == 2) ||     // documentation
         in(192, 16, 168) ||                            // private
         in(198, 15, 18) ||                             // benchmarking 198.18/15
         (b[0] == 198 && b[1] == 51 && b[2] == 100) ||  // documentation
         (b[0] == 203 && b[1] == 0 && b[2] == 113) ||   // documentation
         b[0] >= 224;                                   // multicast, reserved, broadcast
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view url, std::string* reason) {
  auto refuse = [&](const char* why) -> std::optional<Endpoint> {
    if (reason != nullptr) *reason = why;
    return std::nullopt;
  };
  if (url.size() > kMaxEndpointLength) return refuse("is longer than 1024 characters");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return refuse("is not an absolute URL");
  if (parsed->scheme_id() != boost::urls::scheme::https) return refuse("must be an https URL");
  if (parsed->has_userinfo()) return refuse("must not carry user information");
  if (parsed->host().empty()) return refuse("has no host");
  Endpoint e;
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv4:
      e.host = parsed->host_ipv4_address().to_string();
      break;
    case boost::urls::host_type::ipv6:
      e.host = parsed->host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::name:
      e.host = parsed->host_name();
      break;
    default:
      return refuse("has a host that is neither a name nor an IP address");
  }
  std::transform(e.host.begin(), e.host.end(), e.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (parsed->has_port()) {
    if (parsed->port().empty() || parsed->port_number() == 0) return refuse("has an invalid port");
    e.port = parsed->port_number();
  }
  // A fragment is never sent, and one in an endpoint means it is not a push service's.
  if (parsed->has_fragment()) return refuse("must not have a fragment");
  e.target = parsed->encoded_resource();  // path and query
  if (e.target.empty()) e.target = "/";
  for (char c : e.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return refuse("has a character a URL cannot hold");
  }
  bool v6 = parsed->host_type() == boost::urls::host_type::ipv6;
  e.origin = "https://" + (v6 ? "[" + e.host + "]" : e.host) + (e.port != 443 ? ":" + std::to_string(e.port) : "");
  return e;
}

bool is_non_public(const boost::asio::ip::address& address) {
  if (address.is_v4()) return v4_non_public(address.to_v4());
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return v4_non_public(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
  auto b = v6.to_bytes();
  return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() || v6.is_site_local() ||
         (b[0] & 0xfe) == 0xfc ||                                           // unique local fc00::/7
         (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) ||  // documentation 2001:db8::/32
         (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) ||  // NAT64 64:ff9b::/96 reaches IPv4 space
         (b[0] == 0x20 && b[1] == 0x02);                                    // 6to4 2002::/16 embeds an IPv4 address
}

bool is_obviously_private_host(std::string_view host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (!ec) return is_non_public(address);
  return host == "localhost" || ends_with_ci(host, ".localhost") || ends_with_ci(host, ".local") ||
         ends_with_ci(host, ".internal");
}

}  // namespace parley::push
