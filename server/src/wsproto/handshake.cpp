#include "wsproto/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>

namespace parley::wsproto {
namespace {

namespace http = boost::beast::http;

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// Whether the comma-separated list `value` holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A key is 16 random bytes in base64: 22 characters and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22)) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

HandshakeResult refuse(int status, std::string_view reason, std::string_view extra_header = {}) {
  std::string body = std::string(reason) + "\n";
  HandshakeResult r;
  r.response = "HTTP/1.1 " + std::to_string(status) + (status == 426 ? " Upgrade Required" : " Bad Request") +
               "\r\nContent-Type: text/plain\r\nConnection: close\r\n" + std::string(extra_header) +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input += kGuid;
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::array<unsigned char, 32> encoded{};  // 4 * ceil(20 / 3) + NUL
  int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest.size()));
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n)};
}

HandshakeResult accept_handshake(const http::request_header<>& request, const DeflateOptions& deflate,
                                 std::string_view server) {
  if (request.method() != http::verb::get) return refuse(400, "WebSocket upgrade needs GET");
  if (request.version() != 11) return refuse(400, "WebSocket upgrade needs HTTP/1.1");
  if (request[http::field::host].empty()) return refuse(400, "no Host");
  if (!has_token(request[http::field::upgrade], "websocket")) return refuse(400, "no Upgrade: websocket");
  if (!has_token(request[http::field::connection], "upgrade")) return refuse(400, "no Connection: upgrade");
  if (request[http::field::sec_websocket_version] != "13") {
    return refuse(426, "WebSocket version 13 only", "Sec-WebSocket-Version: 13\r\n");
  }
  std::string_view key = request[http::field::sec_websocket_key];
  if (!valid_key(key)) return refuse(400, "invalid Sec-WebSocket-Key");

  HandshakeResult r;
  r.accepted = true;
  r.deflate = negotiate_deflate(request[http::field::sec_websocket_extensions], deflate);
  r.response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  r.response += accept_key(key);
  r.response += "\r\n";
  if (r.deflate) r.response += "Sec-WebSocket-Extensions: " + deflate_response(*r.deflate) + "\r\n";
  if (!server.empty()) r.response += "Server: " + std::string(server) + "\r\n";
  r.response += "\r\n";
  return r;
}

}  // namespace parley::wsproto
