#include "auth/qr_code.hpp"

#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <qrencode.h>

namespace parley::auth {
namespace {

constexpr int kQuietZone = 4;  // modules, as ISO/IEC 18004 asks

struct Symbol {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code;
  int width() const { return code->width; }
  // Whether the module at (x, y) is dark; outside the symbol (the quiet
  // zone) everything is light.
  bool dark(int x, int y) const {
    if (x < 0 || y < 0 || x >= width() || y >= width()) return false;
    return (code->data[y * width() + x] & 1) != 0;
  }
};

Symbol encode(std::string_view text) {
  std::string copy(text);  // libqrencode wants a NUL-terminated string
  QRcode* code = QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M);
  if (code == nullptr) throw std::runtime_error("text does not fit in a QR code");
  return Symbol{std::unique_ptr<QRcode, decltype(&QRcode_free)>(code, &QRcode_free)};
}

}  // namespace

std::string qr_svg(std::string_view text) {
  Symbol symbol = encode(text);
  int size = symbol.width() + 2 * kQuietZone;
  // One path of unit squares: small, and crisp at any scale.
  std::string path;
  for (int y = 0; y < symbol.width(); ++y) {
    for (int x = 0; x < symbol.width(); ++x) {
      if (symbol.dark(x, y)) path += fmt::format("M{} {}h1v1h-1z", x + kQuietZone, y + kQuietZone);
    }
  }
  return fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {0}" shape-rendering="crispEdges">)"
      R"(<rect width="{0}" height="{0}" fill="#fff"/><path fill="#000" d="{1}"/></svg>)",
      size, path);
}

std::string qr_text(std::string_view text) {
  Symbol symbol = encode(text);
  std::string out;
  for (int y = -kQuietZone; y < symbol.width() + kQuietZone; y += 2) {
    for (int x = -kQuietZone; x < symbol.width() + kQuietZone; ++x) {
      bool top = !symbol.dark(x, y);
      bool bottom = y + 1 < symbol.width() + kQuietZone && !symbol.dark(x, y + 1);
      out += top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ";
    }
    out += '\n';
  }
  return out;
}

}  // namespace parley::auth
