// The server's side of the opening handshake (RFC 6455 §4.2): checks an
// HTTP upgrade request and writes the 101 response (or the refusal).
#pragma once

#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "wsproto/deflate.hpp"

namespace parley::wsproto {

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64 of the SHA-1
// of the key and RFC 6455's GUID.
[[nodiscard]] std::string accept_key(std::string_view client_key);

struct HandshakeResult {
  // True: `response` is the 101 Switching Protocols response, and the
  // connection speaks WebSocket once it is sent. False: `response` is a 400
  // (or 426 for another version) to send before closing.
  bool accepted = false;
  std::string response;
  // permessage-deflate, when negotiated.
  std::optional<DeflateParams> deflate;
};

// Checks `request`: GET over HTTP/1.1, Upgrade: websocket, Connection:
// upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key of 16 bytes in
// base64; negotiates permessage-deflate under `deflate`. `server` names the
// server in the response's Server field (empty: none).
[[nodiscard]] HandshakeResult accept_handshake(const boost::beast::http::request_header<>& request,
                                               const DeflateOptions& deflate, std::string_view server = {});

}  // namespace parley::wsproto
