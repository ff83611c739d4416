#include "auth/qr_code.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

constexpr std::string_view kUri =
    "otpauth://totp/Parley:amy?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Parley&algorithm=SHA1&digits=6&period=30";

TEST(QrCodeTest, SvgIsOneSquareImageWithAQuietZone) {
  std::string svg = qr_svg(kUri);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 0), 0U) << svg.substr(0, 80);
  EXPECT_NE(svg.find("<path fill=\"#000\" d=\"M4 4h1v1h-1z"), std::string::npos);  // finder pattern's corner
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  EXPECT_EQ(svg.find("otpauth"), std::string::npos);  // the data is in the modules, not the markup
}

TEST(QrCodeTest, TextHasTwoModuleRowsPerLine) {
  std::string text = qr_text(kUri);
  // Count lines and their widths (in characters, each 1 to 3 UTF-8 bytes).
  std::vector<std::size_t> widths;
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      widths.push_back(width);
      width = 0;
    } else if ((c & 0xC0) != 0x80) {
      ++width;
    }
  }
  ASSERT_FALSE(widths.empty());
  std::size_t modules = widths.front();  // symbol width + 8 for the quiet zone
  for (auto w : widths) EXPECT_EQ(w, modules);
  EXPECT_EQ(widths.size(), (modules + 1) / 2);
  // The quiet zone's first rows are all light: full blocks.
  EXPECT_EQ(text.substr(0, 3), "\u2588");
}

TEST(QrCodeTest, TooLongTextIsRefused) { EXPECT_THROW((void)qr_svg(std::string(5000, 'x')), std::runtime_error); }

}  // namespace
}  // namespace parley::auth
