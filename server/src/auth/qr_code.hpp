// QR codes of short texts (otpauth URIs), drawn for a web page (SVG) and for
// a terminal (text), with libqrencode.
//
// Thread-safe (libqrencode is built with pthread support on Debian).
#pragma once

#include <string>
#include <string_view>

namespace parley::auth {

// An SVG image of the QR code of `text` (error correction level M, a 4-module
// quiet zone, one unit per module, black on white). Throws std::runtime_error
// if the text is too long for a QR code.
[[nodiscard]] std::string qr_svg(std::string_view text);

// The same as UTF-8 text, two module rows per line with the half-block
// characters U+2580, U+2584, U+2588 and spaces. The characters draw the
// LIGHT modules (and the quiet zone), as `qrencode -t UTF8` does, because
// terminals are mostly light text on a dark background; lines end in "\n".
[[nodiscard]] std::string qr_text(std::string_view text);

}  // namespace parley::auth
