#include "http/client_address.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "core/config.hpp"

namespace parley::http {
namespace {

namespace ip = boost::asio::ip;

// Caps the work one header can cause: a chain longer than any real proxy
// setup is read only this far from the right.
constexpr std::size_t kMaxHops = 32;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

ip::address unmapped(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  auto address = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return unmapped(address);
}

// An address as proxies write it: bare, "[v6]", "[v6]:port" or "v4:port".
std::optional<ip::address> parse_node(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return parse_address(text.substr(1, close - 1));
  }
  if (auto address = parse_address(text)) return address;
  auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    return parse_address(text.substr(0, colon));
  }
  return std::nullopt;
}

// Splits on `separator` outside double quotes (RFC 7239 values may be
// quoted strings holding commas or semicolons).
std::vector<std::string_view> split_unquoted(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && quoted) {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (text[i] == separator && !quoted) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

// The node of one Forwarded element's "for" parameter, or "" if it has none.
std::string_view forwarded_for(std::string_view element) {
  for (std::string_view pair : split_unquoted(element, ';')) {
    pair = trim(pair);
    auto equals = pair.find('=');
    if (equals == std::string_view::npos || !iequals(trim(pair.substr(0, equals)), "for")) continue;
    std::string_view value = trim(pair.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

}  // namespace

TrustedProxies TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies proxies;
  for (const auto& entry : entries) {
    boost::system::error_code ec;
    if (entry.find('/') == std::string::npos) {
      auto address = parse_address(entry);
      if (!address) throw ConfigError(fmt::format("http.trusted_proxies: '{}' is not an address or CIDR block", entry));
      if (address->is_v4()) {
        proxies.v4_.emplace_back(address->to_v4(), 32);
      } else {
        proxies.v6_.emplace_back(address->to_v6(), 128);
      }
      continue;
    }
    if (auto v4 = ip::make_network_v4(entry, ec); !ec) {
      // "10.1.2.3/8" would silently mean 10.0.0.0/8; a typo must not widen trust.
      if (v4 != v4.canonical()) {
        throw ConfigError(fmt::format("http.trusted_proxies: '{}' has host bits set (did you mean {}?)", entry,
                                      v4.canonical().to_string()));
      }
      proxies.v4_.push_back(v4);
      continue;
    }
    ec.clear();
    if (auto v6 = ip::make_network_v6(entry, ec); !ec) {
      if (v6 != v6.canonical()) {
        throw ConfigError(fmt::format("http.trusted_proxies: '{}' has host bits set (did you mean {}?)", entry,
                                      v6.canonical().to_string()));
      }
      proxies.v6_.push_back(v6);
      continue;
    }
    throw ConfigError(fmt::format("http.trusted_proxies: '{}' is not an address or CIDR block", entry));
  }
  return proxies;
}

bool TrustedProxies::contains(const ip::address& given) const {
  ip::address address = unmapped(given);
  if (address.is_v4()) {
    auto bits = address.to_v4().to_uint();
    return std::any_of(v4_.begin(), v4_.end(), [&](const ip::network_v4& network) {
      return (bits & network.netmask().to_uint()) == network.network().to_uint();
    });
  }
  auto bytes = address.to_v6().to_bytes();
  return std::any_of(v6_.begin(), v6_.end(), [&](const ip::network_v6& network) {
    auto prefix = network.network().to_bytes();
    unsigned length = network.prefix_length();
    for (std::size_t i = 0; i < bytes.size() && length > 0; ++i, length -= std::min(length, 8U)) {
      auto mask = static_cast<unsigned char>(0xFF << (8 - std::min(length, 8U)));
      if ((bytes[i] & mask) != (prefix[i] & mask)) return false;
    }
    return true;
  });
}

ForwardedHeader parse_forwarded_header(std::string_view name) {
  if (iequals(name, "x-forwarded-for")) return ForwardedHeader::kXForwardedFor;
  if (iequals(name, "forwarded")) return ForwardedHeader::kForwarded;
  throw ConfigError(fmt::format("http.forwarded_header: '{}' is not 'X-Forwarded-For' or 'Forwarded'", name));
}

std::string client_address(std::string_view peer, const std::vector<std::string_view>& header_values,
                           ForwardedHeader header, const TrustedProxies& trusted) {
  auto peer_address = parse_address(peer);
  if (!peer_address || trusted.empty() || !trusted.contains(*peer_address)) return std::string(peer);

  // The chain's elements, left to right, across every header instance.
  std::vector<std::string_view> chain;
  for (std::string_view value : header_values) {
    for (std::string_view element : split_unquoted(value, ',')) chain.push_back(element);
  }
  ip::address current = *peer_address;  // the nearest hop known so far; trusted
  std::size_t hops = 0;
  for (auto it = chain.rbegin(); it != chain.rend() && hops < kMaxHops; ++it, ++hops) {
    std::string_view node = header == ForwardedHeader::kForwarded ? forwarded_for(*it) : *it;
    auto address = parse_node(node);
    if (!address) break;  // not an address: trust ends at the hop that handed it over
    current = *address;
    if (!trusted.contains(current)) break;
  }
  return current.to_string();
}

std::string request_client_address(std::string_view peer, const boost::beast::http::fields& fields,
                                   ForwardedHeader header, const TrustedProxies& trusted) {
  std::string_view name = header == ForwardedHeader::kForwarded ? "Forwarded" : "X-Forwarded-For";
  std::vector<std::string_view> values;
  for (auto range = fields.equal_range(name); range.first != range.second; ++range.first) {
    values.push_back(range.first->value());
  }
  return client_address(peer, values, header, trusted);
}

}  // namespace parley::http
