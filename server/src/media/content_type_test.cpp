#include "media/content_type.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "media/test_images.hpp"

namespace parley::media {
namespace {

using testing::TempDir;
using testing::write_bytes;

std::string sniff_text(const std::string& bytes) {
  return sniff_content_type(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

// A minimal but well-formed zip holding "a.txt" = "hi" (stored).
std::string tiny_zip() {
  auto le16 = [](unsigned v) { return std::string{static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; };
  auto le32 = [&](unsigned v) { return le16(v & 0xFFFF) + le16(v >> 16); };
  const unsigned crc = 0xD8932AAC;  // crc32("hi")
  std::string local = "PK\x03\x04" + le16(10) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(2) + le32(2) +
                      le16(5) + le16(0) + "a.txt" + "hi";
  std::string central = "PK\x01\x02" + le16(20) + le16(10) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) +
                        le32(2) + le32(2) + le16(5) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(0) +
                        "a.txt";
  std::string end = "PK\x05\x06" + le16(0) + le16(0) + le16(1) + le16(1) + le32(static_cast<unsigned>(central.size())) +
                    le32(static_cast<unsigned>(local.size())) + le16(0);
  return local + central + end;
}

TEST(ContentType, SniffsRealFilesByTheirBytes) {
  TempDir dir;
  testing::save(testing::make_image(16, 16), dir / "picture.png");
  std::filesystem::rename(dir / "picture.png", dir / "picture.txt");  // the name lies; the bytes decide
  write_bytes(dir / "page.png", "<!DOCTYPE html>\n<html><head><script>alert(1)</script></head></html>\n");
  write_bytes(dir / "drawing.jpg",
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
              "height=\"10\"><script>alert(1)</script></svg>\n");
  write_bytes(dir / "archive.gif", tiny_zip());
  write_bytes(dir / "notes.html", "Just some notes,\nwritten in plain text.\n");

  EXPECT_EQ(sniff_content_type(dir / "picture.txt"), "image/png");
  EXPECT_EQ(sniff_content_type(dir / "page.png"), "text/html");
  EXPECT_EQ(sniff_content_type(dir / "drawing.jpg"), "image/svg+xml");
  EXPECT_EQ(sniff_content_type(dir / "archive.gif"), "application/zip");
  EXPECT_EQ(sniff_content_type(dir / "notes.html"), "text/plain");
}

TEST(ContentType, PolyglotGifWithHtmlIsAGif) {
  // A GIF header followed by markup: served as image/gif with nosniff, a
  // browser never renders the HTML part.
  const std::string polyglot = std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00", 13) +
                               "<html><body><script>alert(document.cookie)</script></body></html>";
  const std::string type = sniff_text(polyglot);
  EXPECT_EQ(type, "image/gif");
  EXPECT_FALSE(is_active_content(type));
}

TEST(ContentType, UnknownAndUnreadable) {
  TempDir dir;
  EXPECT_EQ(sniff_content_type(dir / "missing"), "application/octet-stream");
  // A FIFO in place of a file: answered at once, not waited on.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(sniff_content_type(dir / "fifo"), "application/octet-stream");
  EXPECT_EQ(sniff_content_type(dir.path()), "application/octet-stream");
  EXPECT_EQ(sniff_text(std::string("\x00\x01\x02\x03\xfe\xff\x10\x80", 8)), "application/octet-stream");
  EXPECT_EQ(sniff_text(""), "application/x-empty");
}

TEST(ContentType, OneHandlePerThread) {
  const std::string html = "<!DOCTYPE html><html><body>x</body></html>";
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) right += sniff_text(html) == "text/html" ? 1 : 0;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(right.load(), 80);
}

TEST(ContentType, ActiveContent) {
  for (const char* type :
       {"text/html", "Text/HTML; charset=utf-8", "application/xhtml+xml", "image/svg+xml", "text/xml",
        "application/xml", "application/rss+xml", "text/javascript", "application/javascript",
        "application/x-javascript", "text/css", "application/pdf", "message/rfc822", "multipart/related", "text/xsl"}) {
    EXPECT_TRUE(is_active_content(type)) << type;
    EXPECT_FALSE(is_inline_safe(type)) << type;
  }
  for (const char* type :
       {"image/png", "image/gif", "text/plain", "application/zip", "application/octet-stream", "video/mp4"}) {
    EXPECT_FALSE(is_active_content(type)) << type;
  }
}

TEST(ContentType, InlineAllowList) {
  for (const char* type :
       {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic", "audio/mpeg", "audio/ogg",
        "video/mp4", "video/webm", "text/plain; charset=utf-8", " IMAGE/PNG "}) {
    EXPECT_TRUE(is_inline_safe(type)) << type;
  }
  for (const char* type : {"application/zip", "application/octet-stream", "image/bmp", "image/tiff",
                           "application/x-empty", "text/csv", "", "image/png+xml"}) {
    EXPECT_FALSE(is_inline_safe(type)) << type;
  }
}

}  // namespace
}  // namespace parley::media
