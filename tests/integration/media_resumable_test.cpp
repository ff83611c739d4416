// Resumable uploads, black box: parts cut off by dropped connections, a
// client that starts over on a new connection, a server killed with SIGKILL
// mid-part, and abandoned uploads swept away.
#include <chrono>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/media_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * 1024;

class MediaResumableTest : public ::testing::Test {
 protected:
  void Start(const std::string& media_config = "") {
    server_ = std::make_unique<ServerProcess>(ServerOptions{"[media]\n" + media_config, {}});
    client_ = std::make_unique<HttpClient>(server_->port());
    ann_ = register_and_login(*client_, "ann");
  }
  void SetUp() override { Start(); }

  std::filesystem::path MediaDir(const std::string& sub) const { return server_->data_dir() / "data" / "media" / sub; }

  std::string Create(std::uint64_t size) {
    auto reply = client_->post("/api/v1/uploads", json::object{{"size", size}, {"name", "video.mp4"}},
                               ann_.token);
    EXPECT_EQ(reply.status, 201) << reply.body;
    EXPECT_EQ(reply.json().at("upload").at("offset").as_int64(), 0);
    return std::string(reply.json().at("upload").at("id").as_string());
  }

  std::int64_t Offset(const std::string& id) {
    auto reply = client_->get("/api/v1/uploads/" + id, ann_.token);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.headers["upload-offset"], std::to_string(reply.json().at("upload").at("offset").as_int64()));
    return reply.json().at("upload").at("offset").as_int64();
  }

  // Sends pattern bytes [first, last] of an upload of `total` bytes.
  Reply Part(const std::string& id, std::uint64_t first, std::uint64_t last, std::uint64_t total,
             std::optional<std::uint64_t> cut_after = std::nullopt) {
    StreamOptions options = as_user(ann_.token, {{"Content-Range", fmt::format("bytes {}-{}/{}", first, last, total)}});
    options.cut_after = cut_after;
    return send_pattern(server_->port(), "PATCH", "/api/v1/uploads/" + id, last - first + 1, options, first);
  }

  // A part cut off by a dropped connection is kept up to what arrived; the
  // bytes written before the close all reach the server, so the offset
  // ends exactly there once the server has seen the end of the stream.
  void WaitForOffset(const std::string& id, std::int64_t expected) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (Offset(id) != expected && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(Offset(id), expected);
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
  TestUser ann_;
};

TEST_F(MediaResumableTest, InterruptedTwiceThenFinishedByteExact) {
  const std::uint64_t size = 3 * kMiB + 123;
  std::string id = Create(size);

  Part(id, 0, size - 1, size, 700 * kKiB);  // the connection drops after 700 KiB
  WaitForOffset(id, 700 * kKiB);
  Part(id, 700 * kKiB, size - 1, size, 900 * kKiB);  // and again
  WaitForOffset(id, 1600 * kKiB);

  // A part that does not start at the server's offset is refused, with the
  // offset to resume from.
  auto wrong = Part(id, 0, 1000, size);
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(wrong.error_code(), "offset_mismatch");
  EXPECT_EQ(wrong.headers["upload-offset"], std::to_string(1600 * kKiB));
  auto early = client_->post("/api/v1/uploads/" + id + "/complete", json::object{}, ann_.token);
  EXPECT_EQ(early.status, 409);

  // A client that restarted: a new connection asks the offset, sends the rest.
  client_ = std::make_unique<HttpClient>(server_->port());
  auto offset = static_cast<std::uint64_t>(Offset(id));
  auto rest = Part(id, offset, size - 1, size);
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(rest.json().at("upload").at("offset").as_int64(), static_cast<std::int64_t>(size));

  auto done = client_->post("/api/v1/uploads/" + id + "/complete", json::object{}, ann_.token);
  ASSERT_EQ(done.status, 201) << done.body;
  auto media = done.json().at("media");
  EXPECT_EQ(media.at("name").as_string(), "video.mp4");
  auto got = download(server_->port(), "/api/v1/media/" + std::string(media.at("id").as_string()), ann_.token);
  EXPECT_EQ(got.size, size);
  EXPECT_EQ(got.sha256, pattern_sha256(size));
  EXPECT_EQ(client_->get("/api/v1/uploads/" + id, ann_.token).status, 404);
  EXPECT_EQ(count_files(MediaDir("uploads")), 0U);
  EXPECT_EQ(count_files(MediaDir("staging")), 0U);
}

TEST_F(MediaResumableTest, OthersCannotSeeOrTouchAnUpload) {
  std::string id = Create(1000);
  auto bob = register_and_login(*client_, "bob");
  EXPECT_EQ(client_->get("/api/v1/uploads/" + id, bob.token).status, 404);
  EXPECT_EQ(client_->del("/api/v1/uploads/" + id, bob.token).status, 404);
  EXPECT_EQ(client_->del("/api/v1/uploads/" + id, ann_.token).status, 204);
  EXPECT_EQ(client_->get("/api/v1/uploads/" + id, ann_.token).status, 404);
}

TEST_F(MediaResumableTest, KillDuringAPartResumesFromTheAcknowledgedOffset) {
  const std::uint64_t size = 2 * kMiB;
  std::string id = Create(size);
  auto first = Part(id, 0, kMiB - 1, size);
  ASSERT_EQ(first.status, 200) << first.body;

  // The server dies half-way through the second part.
  StreamOptions options =
      as_user(ann_.token, {{"Content-Range", fmt::format("bytes {}-{}/{}", kMiB, size - 1, size)}});
  options.progress = [&](std::uint64_t sent) {
    if (sent >= kMiB / 2 && server_->running()) server_->kill9();
  };
  auto cut = send_pattern(server_->port(), "PATCH", "/api/v1/uploads/" + id, kMiB, options, kMiB);
  EXPECT_EQ(cut.status, 0);
  EXPECT_EQ(count_files(MediaDir("blobs")), 0U);  // no partial blob, ever

  server_->start();
  client_ = std::make_unique<HttpClient>(server_->port());
  EXPECT_EQ(Offset(id), static_cast<std::int64_t>(kMiB));
  EXPECT_EQ(count_files(MediaDir("staging")), 0U);
  auto rest = Part(id, kMiB, size - 1, size);
  ASSERT_EQ(rest.status, 200) << rest.body;
  auto done = client_->post("/api/v1/uploads/" + id + "/complete", json::object{}, ann_.token);
  ASSERT_EQ(done.status, 201) << done.body;
  auto got = download(server_->port(), "/api/v1/media/" + std::string(done.json().at("media").at("id").as_string()),
                      ann_.token);
  EXPECT_EQ(got.sha256, pattern_sha256(size));
}

class MediaExpiryTest : public MediaResumableTest {
 protected:
  void SetUp() override { Start("upload_expiry_seconds = 1\nsweep_interval_seconds = 1\n"); }
};

TEST_F(MediaExpiryTest, AnAbandonedUploadIsDeletedWithItsParts) {
  std::string id = Create(kMiB);
  ASSERT_EQ(Part(id, 0, 100 * kKiB - 1, kMiB).status, 200);
  EXPECT_EQ(count_files(MediaDir("uploads")), 1U);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (count_files(MediaDir("uploads")) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(count_files(MediaDir("uploads")), 0U);
  EXPECT_EQ(client_->get("/api/v1/uploads/" + id, ann_.token).status, 404);
}

}  // namespace
}  // namespace parley::test
