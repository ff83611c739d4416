// Media uploads and downloads, black box: the real parleyd over sockets, and
// the files it leaves in its media folder counted after each request.
#include <zlib.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/media_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1 << 20;

// A PNG chunk: length, type, data, CRC-32 of type and data.
std::string png_chunk(const std::string& type, const std::string& data) {
  auto be32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  const std::string body = type + data;
  auto crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  return be32(static_cast<std::uint32_t>(data.size())) + body + be32(crc);
}

// An RGB PNG whose header says width×height; its pixel data holds `rows`
// rows (all of them for a valid image, fewer for a truncated one).
std::string make_png(std::uint32_t width, std::uint32_t height, std::uint32_t rows) {
  auto be32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  std::string ihdr = be32(width) + be32(height) + std::string{8, 2, 0, 0, 0};
  std::string raw;
  for (std::uint32_t y = 0; y < rows; ++y) {
    raw += '\0';  // filter: none
    for (std::uint32_t x = 0; x < width; ++x) raw += std::string{static_cast<char>(x), static_cast<char>(y), 'x'};
  }
  std::vector<Bytef> compressed(compressBound(raw.size()));
  uLongf size = compressed.size();
  compress(compressed.data(), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) +
         png_chunk("IDAT", std::string(reinterpret_cast<const char*>(compressed.data()), size)) +
         png_chunk("IEND", "");
}

class MediaUploadTest : public ::testing::Test {
 protected:
  void Start(const std::string& media_config = "") {
    server_ = std::make_unique<ServerProcess>(ServerOptions{"[media]\nsweep_interval_seconds = 1\n" + media_config, {}});
    client_ = std::make_unique<HttpClient>(server_->port());
    ann_ = register_and_login(*client_, "ann");
  }
  void SetUp() override { Start(); }

  std::filesystem::path MediaDir(const std::string& sub) const { return server_->data_dir() / "data" / "media" / sub; }
  // Nothing half-written anywhere: no staged file, no upload file.
  void ExpectNothingLeftBehind() {
    EXPECT_EQ(count_files(MediaDir("staging")), 0U);
    EXPECT_EQ(count_files(MediaDir("uploads")), 0U);
  }

  Reply Upload(const std::string& body, const std::string& name = "file.bin", const std::string& token = "") {
    return client_->request("POST", "/api/v1/media?name=" + name, body, token.empty() ? ann_.token : token,
                            "application/octet-stream");
  }
  std::string UploadId(const std::string& body, const std::string& name = "file.bin") {
    auto reply = Upload(body, name);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return std::string(reply.json().at("media").at("id").as_string());
  }

  // Waits until /metrics has counted an answer to a request on `route`
  // with `status`: the server has finished with that request.
  void WaitForAnswer(const std::string& route, int status) {
    std::string needle = "route=\"" + route + "\"";
    std::string code = "status=\"" + std::to_string(status) + "\"";
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto metrics = client_->get("/metrics").body;
      std::istringstream lines(metrics);
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("parley_http_requests_total", 0) == 0 && line.find(needle) != std::string::npos &&
            line.find(code) != std::string::npos) {
          return;
        }
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "no " << status << " answer on " << route;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
  TestUser ann_;
};

TEST_F(MediaUploadTest, EmptySmallAndLargeFilesComeBackByteExact) {
  auto empty = Upload("", "empty.txt");
  ASSERT_EQ(empty.status, 201) << empty.body;
  EXPECT_EQ(empty.json().at("media").at("size").as_int64(), 0);
  auto got = download(server_->port(), "/api/v1/media/" + std::string(empty.json().at("media").at("id").as_string()),
                      ann_.token);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.size, 0U);

  auto small = Upload("hello, world\n", "hello.txt");
  ASSERT_EQ(small.status, 201) << small.body;
  auto media = small.json().at("media").as_object();
  EXPECT_EQ(media.at("content_type").as_string(), "text/plain");
  EXPECT_EQ(media.at("name").as_string(), "hello.txt");
  EXPECT_EQ(std::string(media.at("id").as_string()).size(), 22U);
  got = download(server_->port(), "/api/v1/media/" + std::string(media.at("id").as_string()), ann_.token);
  EXPECT_EQ(got.body, "hello, world\n");
  EXPECT_EQ(got.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(got.headers["content-disposition"].rfind("inline", 0), 0U);
  EXPECT_EQ(got.headers["x-content-type-options"], "nosniff");
  EXPECT_NE(got.headers["content-security-policy"].find("sandbox"), std::string::npos);
  EXPECT_EQ(got.headers["cache-control"].rfind("private", 0), 0U);

  const std::uint64_t size = 50 * kMiB;
  auto large = send_pattern(server_->port(), "POST", "/api/v1/media?name=large.bin", size, as_user(ann_.token));
  ASSERT_EQ(large.status, 201) << large.body;
  std::string id(large.json().at("media").at("id").as_string());
  got = download(server_->port(), "/api/v1/media/" + id, ann_.token);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.size, size);
  EXPECT_EQ(got.sha256, pattern_sha256(size));
  auto info = client_->get("/api/v1/media/" + id + "/info", ann_.token);
  EXPECT_EQ(info.json().at("media").at("size").as_int64(), static_cast<std::int64_t>(size));
  ExpectNothingLeftBehind();
}

TEST_F(MediaUploadTest, IdenticalContentIsStoredOnceAndDeletedWithItsLastUse) {
  std::string content = pattern(0, 300 * 1024);
  std::string first = UploadId(content, "a.bin");
  std::string second = UploadId(content, "b.bin");
  EXPECT_NE(first, second);
  EXPECT_EQ(count_files(MediaDir("blobs")), 1U);

  EXPECT_EQ(client_->del("/api/v1/media/" + first, ann_.token).status, 204);
  EXPECT_EQ(client_->get("/api/v1/media/" + first + "/info", ann_.token).status, 404);
  auto still = download(server_->port(), "/api/v1/media/" + second, ann_.token);
  EXPECT_EQ(still.sha256, sha256_hex(content));

  EXPECT_EQ(client_->del("/api/v1/media/" + second, ann_.token).status, 204);
  // The blob sweeper runs every second here.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (count_files(MediaDir("blobs")) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(count_files(MediaDir("blobs")), 0U);
}

TEST_F(MediaUploadTest, RangesAndValidators) {
  std::string content = pattern(0, 1000);
  std::string url = "/api/v1/media/" + UploadId(content);
  auto port = server_->port();

  auto whole = download(port, url, ann_.token, {{"Range", "bytes=0-"}});
  EXPECT_EQ(whole.status, 206);
  EXPECT_EQ(whole.headers["content-range"], "bytes 0-999/1000");
  EXPECT_EQ(whole.body, content);

  auto suffix = download(port, url, ann_.token, {{"Range", "bytes=-500"}});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, content.substr(500));

  auto middle = download(port, url, ann_.token, {{"Range", "bytes=10-20"}});
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.headers["content-range"], "bytes 10-20/1000");
  EXPECT_EQ(middle.body, content.substr(10, 11));

  auto past = download(port, url, ann_.token, {{"Range", "bytes=1000-"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.headers["content-range"], "bytes */1000");

  auto several = download(port, url, ann_.token, {{"Range", "bytes=0-1,5-6"}});
  EXPECT_EQ(several.status, 200);
  EXPECT_EQ(several.body, content);
  EXPECT_EQ(several.headers["accept-ranges"], "bytes");

  std::string etag = several.headers["etag"];
  ASSERT_FALSE(etag.empty());
  auto cached = download(port, url, ann_.token, {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_EQ(cached.size, 0U);
  EXPECT_EQ(download(port, url, ann_.token, {{"If-None-Match", "\"other\""}}).status, 200);

  auto head = download(port, url, ann_.token, {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "1000");
  EXPECT_EQ(head.size, 0U);
}

TEST_F(MediaUploadTest, FileNamesAreStoredSanitised) {
  struct Case {
    std::string query;
    std::string stored;
  };
  for (const auto& c : std::vector<Case>{{"..%2F..%2Fetc%2Fpasswd", "passwd"},
                                         {"a%252fb.txt", "a%2fb.txt"},  // "%2f" arrives literally and stays
                                         {"nul%00byte.txt", "nulbyte.txt"},
                                         {"ctrl%0D%0AX-Evil%3A%201.txt", "ctrlX-Evil: 1.txt"},
                                         {"..", "file"}}) {
    auto reply = Upload("x", c.query);
    ASSERT_EQ(reply.status, 201) << c.query << " " << reply.body;
    EXPECT_EQ(reply.json().at("media").at("name").as_string(), c.stored) << c.query;
    auto got = download(server_->port(), "/api/v1/media/" + std::string(reply.json().at("media").at("id").as_string()),
                        ann_.token);
    EXPECT_EQ(got.headers["content-disposition"].find('\n'), std::string::npos);
    EXPECT_EQ(got.headers["content-disposition"].find("/"), std::string::npos) << c.query;
  }
  ExpectNothingLeftBehind();
}

TEST_F(MediaUploadTest, ActiveContentIsServedAsASandboxedAttachment) {
  for (const auto& [name, content] : std::vector<std::pair<std::string, std::string>>{
           {"page.html", "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"},
           {"image.svg", "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\">"
                         "<script>alert(2)</script></svg>\n"}}) {
    std::string id = UploadId(content, name);
    auto got = download(server_->port(), "/api/v1/media/" + id, ann_.token);
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(got.headers["content-disposition"].rfind("attachment", 0), 0U) << name;
    EXPECT_NE(got.headers["content-security-policy"].find("sandbox"), std::string::npos) << name;
    EXPECT_EQ(got.headers["x-content-type-options"], "nosniff");
    EXPECT_EQ(got.body, content);
  }
}

TEST_F(MediaUploadTest, StrangersAndGuessersGetTheSame404) {
  std::string id = UploadId("private bytes", "secret.txt");
  auto bob = register_and_login(*client_, "bob");
  auto unknown = client_->get("/api/v1/media/AAAAAAAAAAAAAAAAAAAAAA", bob.token);
  EXPECT_EQ(unknown.status, 404);
  for (const std::string& path : {"/api/v1/media/" + id, "/api/v1/media/" + id + "/info",
                                  "/api/v1/media/" + id + "/thumbnail?size=small"}) {
    auto reply = client_->get(path, bob.token);
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_EQ(reply.body, unknown.body) << path;
  }
  EXPECT_EQ(client_->del("/api/v1/media/" + id, bob.token).status, 404);
  EXPECT_EQ(client_->get("/api/v1/media/" + id).status, 401);
  EXPECT_EQ(client_->get("/api/v1/media/" + id, ann_.token).status, 200);
}

class MediaLimitsTest : public MediaUploadTest {
 protected:
  void SetUp() override { Start("max_upload_bytes = 1048576\nquota_bytes = 1572864\n"); }
};

TEST_F(MediaLimitsTest, OverTheLimitByContentLengthIs413BeforeTheBody) {
  // Only the header is sent: the answer must come without the body.
  std::string request =
      "POST /api/v1/media?name=big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ann_.token +
      "\r\nExpect: 100-continue\r\nContent-Length: 2097152\r\n\r\n";
  std::string answer = client_->raw(request, 10s);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0U) << answer;
  EXPECT_EQ(answer.find("100 Continue"), std::string::npos);
  EXPECT_NE(answer.find("payload_too_large"), std::string::npos);
  ExpectNothingLeftBehind();
  EXPECT_EQ(count_files(MediaDir("blobs")), 0U);
}

TEST_F(MediaLimitsTest, OverTheLimitDuringAChunkedBodyIs413) {
  StreamOptions chunked = as_user(ann_.token, {}, /*chunked=*/true);
  auto reply = send_pattern(server_->port(), "POST", "/api/v1/media?name=big", 2 * kMiB, chunked);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.error_code(), "payload_too_large");
  WaitForAnswer("/api/v1/media", 413);
  ExpectNothingLeftBehind();
  EXPECT_EQ(count_files(MediaDir("blobs")), 0U);
}

TEST_F(MediaLimitsTest, OverTheQuotaIsRefusedAndKeepsNothing) {
  auto first = send_pattern(server_->port(), "POST", "/api/v1/media?name=a", 900 * 1024, as_user(ann_.token));
  ASSERT_EQ(first.status, 201) << first.body;
  auto declared = send_pattern(server_->port(), "POST", "/api/v1/media?name=b", kMiB, as_user(ann_.token), 7);
  EXPECT_EQ(declared.status, 413);
  EXPECT_EQ(declared.error_code(), "quota_exceeded");
  auto chunked = send_pattern(server_->port(), "POST", "/api/v1/media?name=c", kMiB, as_user(ann_.token, {}, true), 9);
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(chunked.error_code(), "quota_exceeded");
  auto resumable = client_->post("/api/v1/uploads", json::object{{"size", kMiB}, {"name", "d"}}, ann_.token);
  EXPECT_EQ(resumable.status, 413);
  EXPECT_EQ(resumable.error_code(), "quota_exceeded");
  WaitForAnswer("/api/v1/media", 413);
  ExpectNothingLeftBehind();
  EXPECT_EQ(count_files(MediaDir("blobs")), 1U);
}

TEST_F(MediaLimitsTest, ABodyShorterThanItsContentLengthLeavesNothing) {
  StreamOptions liar = as_user(ann_.token);
  liar.declared_length = kMiB;
  liar.cut_after = 100 * 1024;
  send_pattern(server_->port(), "POST", "/api/v1/media?name=liar", kMiB, liar);
  WaitForAnswer("/api/v1/media", 400);
  ExpectNothingLeftBehind();
  EXPECT_EQ(count_files(MediaDir("blobs")), 0U);
  auto after = client_->get("/api/v1/me", ann_.token);
  EXPECT_EQ(after.status, 200);  // the server is fine
}

TEST_F(MediaUploadTest, ThumbnailsOfImagesOnlyAndNeverOfBombs) {
  std::string photo = UploadId(make_png(64, 48, 48), "photo.png");
  auto info = client_->get("/api/v1/media/" + photo + "/info", ann_.token).json().at("media");
  EXPECT_EQ(info.at("content_type").as_string(), "image/png");
  EXPECT_EQ(info.at("width").as_int64(), 64);
  EXPECT_EQ(info.at("height").as_int64(), 48);
  auto thumb = download(server_->port(), "/api/v1/media/" + photo + "/thumbnail?size=small", ann_.token);
  EXPECT_EQ(thumb.status, 200);
  EXPECT_EQ(thumb.headers["content-type"].rfind("image/", 0), 0U);
  EXPECT_GT(thumb.size, 0U);
  auto again = download(server_->port(), "/api/v1/media/" + photo + "/thumbnail?size=small", ann_.token);
  EXPECT_EQ(again.sha256, thumb.sha256);
  std::size_t blobs = count_files(MediaDir("blobs"));
  EXPECT_EQ(blobs, 2U);  // the photo and one thumbnail

  std::string bomb = UploadId(make_png(100000, 100000, 1), "bomb.png");
  auto refused = client_->get("/api/v1/media/" + bomb + "/thumbnail?size=medium", ann_.token);
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(refused.error_code(), "invalid_image");

  std::string full = make_png(64, 64, 64);
  std::string truncated = UploadId(full.substr(0, full.size() / 2), "cut.png");
  auto broken = client_->get("/api/v1/media/" + truncated + "/thumbnail?size=large", ann_.token);
  EXPECT_EQ(broken.status, 422);
  EXPECT_EQ(broken.error_code(), "invalid_image");

  std::string text = UploadId("not an image", "x.txt");
  EXPECT_EQ(client_->get("/api/v1/media/" + text + "/thumbnail?size=small", ann_.token).status, 404);
  EXPECT_EQ(client_->get("/api/v1/media/" + photo + "/thumbnail?size=huge", ann_.token).status, 422);
  ExpectNothingLeftBehind();
  EXPECT_EQ(count_files(MediaDir("blobs")), blobs + 3);  // the three uploads, no thumbnail of them
}

}  // namespace
}  // namespace parley::test
