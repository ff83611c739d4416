#include "media/file_name.hpp"

#include <gtest/gtest.h>

namespace parley::media {
namespace {

struct NameCase {
  std::string input;
  std::string expected;
};

TEST(FileName, Sanitize) {
  const std::vector<NameCase> cases = {
      {"photo.jpg", "photo.jpg"},
      {"../../etc/passwd", "passwd"},
      {"..\\..\\windows\\system32\\cmd.exe", "cmd.exe"},
      {"C:\\Users\\me\\report.pdf", "report.pdf"},
      {"dir/", "file"},
      {"..", "file"},
      {"../", "file"},
      {".bashrc", "bashrc"},
      {"...hidden...", "hidden"},
      {"  spaced name.txt  ", "spaced name.txt"},
      {"a%2f..%2fb.txt", "a%2f..%2fb.txt"},  // percent-encoding is not decoded
      {std::string("evil\0name.txt", 13), "evilname.txt"},
      {"line\r\nbreak.txt", "linebreak.txt"},
      {"tab\there\x7f.txt", "tabhere.txt"},
      {"c1\xc2\x85\xc2\x9b.txt", "c1.txt"},  // NEL and CSI (C1)
      {"invoice\xe2\x80\xae"
       "fdp.exe",
       "invoicefdp.exe"},  // U+202E RIGHT-TO-LEFT OVERRIDE
      {"a\xe2\x81\xa6"
       "b\xe2\x81\xa9"
       "c.txt",
       "abc.txt"},                                                 // U+2066, U+2069 isolates
      {"zero\xe2\x80\x8bwidth\xef\xbb\xbf.txt", "zerowidth.txt"},  // U+200B, U+FEFF
      {"quote\"back\\slash.txt", "slash.txt"},                     // '\' is a separator
      {"quote\"s.txt", "quote\"s.txt"},                            // kept for display, escaped in headers
      {"bad\xff\xfeutf8.txt", "bad\xef\xbf\xbd\xef\xbf\xbdutf8.txt"},
      {"overlong\xc0\xaf.txt", "overlong\xef\xbf\xbd.txt"},
      {"surrogate\xed\xa0\x80.txt", "surrogate\xef\xbf\xbd.txt"},
      {"\xf0\x9f\x98\x80 party \xf0\x9f\x8e\x89.png", "\xf0\x9f\x98\x80 party \xf0\x9f\x8e\x89.png"},
      // A family emoji keeps its zero-width joiners; a lone one between letters goes.
      {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7.jpg",
       "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7.jpg"},
      {"a\xe2\x80\x8d"
       "b.txt",
       "ab.txt"},
      {"", "file"},
      {"\x01\x02\x03", "file"},
  };
  for (const NameCase& c : cases) {
    const std::string once = sanitize_file_name(c.input);
    EXPECT_EQ(once, c.expected) << "input: " << c.input;
    EXPECT_EQ(sanitize_file_name(once), once) << "not idempotent for: " << c.input;
  }
}

TEST(FileName, LongNamesAreCutOnACodePointKeepingTheExtension) {
  const std::string ascii = std::string(400, 'a') + ".tar.gz";
  const std::string cut = sanitize_file_name(ascii);
  EXPECT_EQ(cut.size(), kMaxFileNameBytes);
  EXPECT_TRUE(cut.ends_with("a.gz"));

  // 3-byte characters: the cut must not split one.
  std::string wide;
  for (int i = 0; i < 200; ++i) wide += "\xe6\x97\xa5";  // U+65E5
  const std::string wide_cut = sanitize_file_name(wide + ".jpeg");
  EXPECT_LE(wide_cut.size(), kMaxFileNameBytes);
  EXPECT_TRUE(wide_cut.ends_with("\xe6\x97\xa5.jpeg"));
  EXPECT_EQ((wide_cut.size() - 5) % 3, 0u);

  // Emoji (4 bytes each) with a too-long "extension" that is not kept as one.
  std::string emoji;
  for (int i = 0; i < 100; ++i) emoji += "\xf0\x9f\x98\x80";
  const std::string emoji_cut = sanitize_file_name(emoji + "." + std::string(40, 'x'));
  EXPECT_LE(emoji_cut.size(), kMaxFileNameBytes);
  EXPECT_EQ(emoji_cut.size() % 4, 0u);
  EXPECT_EQ(sanitize_file_name(emoji_cut), emoji_cut);
}

struct DispositionCase {
  std::string name;
  Disposition kind;
  std::string expected;
};

TEST(FileName, ContentDisposition) {
  const std::vector<DispositionCase> cases = {
      {"photo.jpg", Disposition::kInline, "inline; filename=\"photo.jpg\"; filename*=UTF-8''photo.jpg"},
      {"my report.pdf", Disposition::kAttachment,
       "attachment; filename=\"my report.pdf\"; filename*=UTF-8''my%20report.pdf"},
      {"q\"uote.txt", Disposition::kAttachment, "attachment; filename=\"q_uote.txt\"; filename*=UTF-8''q%22uote.txt"},
      {"x\r\nSet-Cookie: a=b.txt", Disposition::kAttachment,
       "attachment; filename=\"xSet-Cookie: a=b.txt\"; filename*=UTF-8''xSet-Cookie%3A%20a%3Db.txt"},
      {"\xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\x89.png", Disposition::kAttachment,
       "attachment; filename=\"_t_ _.png\"; filename*=UTF-8''%C3%A9t%C3%A9%20%F0%9F%8E%89.png"},
      {"../../x;y=z.html", Disposition::kAttachment,
       "attachment; filename=\"x;y=z.html\"; filename*=UTF-8''x%3By%3Dz.html"},
      {"a%2fb", Disposition::kAttachment, "attachment; filename=\"a%2fb\"; filename*=UTF-8''a%252fb"},
      {"", Disposition::kAttachment, "attachment; filename=\"file\"; filename*=UTF-8''file"},
  };
  for (const DispositionCase& c : cases) {
    const std::string header = content_disposition(c.name, c.kind);
    EXPECT_EQ(header, c.expected) << "name: " << c.name;
    EXPECT_EQ(header.find_first_of("\r\n"), std::string::npos);
  }
}

TEST(FileName, DispositionNeverBreaksOutOfTheQuotes) {
  // Every byte value in a name: the quoted part never holds '"' or '\' and the
  // header never holds a control character.
  std::string all;
  for (int b = 1; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string header = content_disposition(all, Disposition::kAttachment);
  const auto open = header.find("filename=\"") + 10;
  const auto close = header.find('"', open);
  ASSERT_NE(close, std::string::npos);
  EXPECT_EQ(header.substr(close, 3), "\"; ");
  EXPECT_EQ(header.substr(open, close - open).find('\\'), std::string::npos);
  for (unsigned char c : header) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << static_cast<int>(c);
}

}  // namespace
}  // namespace parley::media
