// parleyd serving the built web app (web/static_site.hpp): the shell and its
// client-side routes, immutable hashed assets, precompressed files, the
// security headers, and paths that try to leave the web root.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/http_client.hpp"
#include "support/parleyd_command.hpp"
#include "support/server_process.hpp"

namespace parley::test {
namespace {

namespace fs = std::filesystem;

const std::string kIndex = "<!doctype html><title>Parley</title><script type=module src=/assets/app-1a2b.js></script>";
const std::string kScript = "console.log('parley');";
const std::string kSecret = "secret-outside-the-web-root";

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A built app in `root`, and a file beside it that must never be served.
fs::path make_site(const fs::path& base) {
  fs::path root = base / "dist";
  write(root / "index.html", kIndex);
  write(root / "assets/app-1a2b.js", kScript);
  write(root / "assets/app-1a2b.js.gz", "gzip-bytes-of-the-script");
  write(root / "sw.js", "self.addEventListener('fetch', () => {});");
  write(root / ".env", kSecret);
  write(base / "secret.txt", kSecret);
  fs::create_symlink(base / "secret.txt", root / "leak.txt");
  fs::create_directory_symlink(base, root / "up");
  return root;
}

class WebAppTest : public ::testing::Test {
 protected:
  TempDir site_dir;
  fs::path root = make_site(site_dir.path());
  ServerProcess server{ServerOptions{"[web]\nroot = \"" + root.string() + "\"\n", {}}};
  HttpClient client{server.port()};

  Reply get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return client.request("GET", target, "", "", "application/json", headers);
  }
};

TEST_F(WebAppTest, TheShellIsServedAtTheRootAndForClientSideRoutes) {
  for (const char* path : {"/", "/index.html", "/c/42", "/settings/", "/conversations/7/messages"}) {
    auto reply = get(path);
    ASSERT_EQ(reply.status, 200) << path;
    EXPECT_EQ(reply.body, kIndex) << path;
    EXPECT_EQ(reply.headers["content-type"], "text/html; charset=utf-8") << path;
    EXPECT_EQ(reply.headers["cache-control"], "no-cache") << path;
  }
}

TEST_F(WebAppTest, EveryResponseCarriesTheStrictSecurityHeaders) {
  for (const char* path : {"/", "/assets/app-1a2b.js", "/sw.js"}) {
    auto reply = get(path);
    ASSERT_EQ(reply.status, 200) << path;
    auto csp = reply.headers["content-security-policy"];
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(reply.headers["x-content-type-options"], "nosniff");
    EXPECT_EQ(reply.headers["referrer-policy"], "no-referrer");
  }
}

TEST_F(WebAppTest, HashedAssetsAreImmutableAndOthersRevalidate) {
  auto script = get("/assets/app-1a2b.js");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.body, kScript);
  EXPECT_EQ(script.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(script.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(script.headers.count("content-encoding"), 0U);

  auto worker = get("/sw.js");
  ASSERT_EQ(worker.status, 200);
  EXPECT_EQ(worker.headers["cache-control"], "no-cache");
}

TEST_F(WebAppTest, APrecompressedSiblingIsSentToClientsThatAcceptGzip) {
  auto reply = get("/assets/app-1a2b.js", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "gzip-bytes-of-the-script");
  EXPECT_EQ(reply.headers["content-encoding"], "gzip");
  EXPECT_EQ(reply.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(reply.headers["vary"], "Accept-Encoding");

  auto refused = get("/assets/app-1a2b.js", {{"Accept-Encoding", "gzip;q=0"}});
  EXPECT_EQ(refused.body, kScript);
  // A file without a .gz sibling is sent as it is.
  auto index = get("/", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.headers.count("content-encoding"), 0U);
}

TEST_F(WebAppTest, AnUnchangedFileIsRevalidatedWithItsEntityTag) {
  auto first = get("/");
  auto etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  auto again = get("/", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  // The gzip representation has its own tag.
  auto plain = get("/assets/app-1a2b.js");
  auto gzip = get("/assets/app-1a2b.js", {{"Accept-Encoding", "gzip"}});
  EXPECT_NE(plain.headers["etag"], gzip.headers["etag"]);
  EXPECT_EQ(get("/assets/app-1a2b.js", {{"If-None-Match", plain.headers["etag"]}}).status, 304);
  EXPECT_EQ(get("/", {{"If-None-Match", "\"something-else\""}}).status, 200);
}

TEST_F(WebAppTest, HeadSendsTheHeaderOnly) {
  auto raw = client.raw("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(raw.starts_with("HTTP/1.1 200")) << raw;
  EXPECT_NE(raw.find("Content-Length: " + std::to_string(kIndex.size()) + "\r\n"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;  // the header only
}

TEST_F(WebAppTest, MissingFilesAreNotFoundRatherThanTheShell) {
  for (const char* path : {"/assets/app-ffff.js", "/favicon.ico", "/assets/nothing"}) {
    auto reply = get(path);
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_EQ(reply.error_code(), "not_found") << path;
  }
}

TEST_F(WebAppTest, ApiPathsKeepTheirJsonErrors) {
  for (const char* path : {"/api/v1/nothing", "/api", "/ws/elsewhere"}) {
    auto reply = get(path);
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_EQ(reply.error_code(), "not_found") << path;
    EXPECT_EQ(reply.body.find("<title>"), std::string::npos) << path;
  }
  // Only GET and HEAD reach the app.
  EXPECT_EQ(client.request("POST", "/c/42", "{}").status, 404);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(WebAppTest, NoPathLeavesTheWebRootOrReachesHiddenFiles) {
  for (const char* target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
        "/assets/..%2f..%2fsecret.txt", "/leak.txt", "/up/secret.txt", "/.env", "/%2eenv", "/assets/%00.js",
        "/..%5csecret.txt", "//secret.txt"}) {
    auto raw = client.raw(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.find(kSecret), std::string::npos) << target;
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 404") || raw.starts_with("HTTP/1.1 400")) << target << ": " << raw;
  }
}

TEST(WebAppConfigTest, WithoutAWebRootOnlyTheApiIsServed) {
  ServerProcess server;
  HttpClient client{server.port()};
  auto reply = client.get("/");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.error_code(), "not_found");
}

TEST(WebAppConfigTest, AWebRootWithoutTheAppStopsTheServerWithAClearError) {
  TempDir empty;
  TempDir data;
  auto result = run_parleyd({"--listen", "127.0.0.1:0", "--data-dir", (data.path() / "data").string(), "--web-root",
                             empty.path().string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("has no index.html"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace parley::test
