#include "web/static_site.hpp"

#include <gtest/gtest.h>

namespace parley::web {
namespace {

TEST(StaticSiteTest, ApiAndOperatorPathsAreNeverTheApp) {
  for (auto path : {"/api", "/api/", "/api/v1/nothing", "/ws", "/ws/x", "/healthz", "/readyz", "/metrics"}) {
    EXPECT_TRUE(is_server_path(path)) << path;
  }
  for (auto path : {"/", "/apix", "/wsx", "/c/42", "/assets/app.js", "/metrics.html"}) {
    EXPECT_FALSE(is_server_path(path)) << path;
  }
}

TEST(StaticSiteTest, PathsResolveBelowTheRoot) {
  EXPECT_EQ(site_file("/"), std::filesystem::path());
  EXPECT_EQ(site_file("/index.html"), std::filesystem::path("index.html"));
  EXPECT_EQ(site_file("/assets/app-1a2b.js"), std::filesystem::path("assets/app-1a2b.js"));
  EXPECT_EQ(site_file("/settings/"), std::filesystem::path("settings"));
}

TEST(StaticSiteTest, PathsThatCouldLeaveTheRootOrReachHiddenFilesAreRefused) {
  for (std::string_view path : {"/..", "/../etc/passwd", "/assets/../../x", "/./index.html", "/.git/config",
                                "/assets/.env", "//etc/passwd", "/a//b", "/a\\..\\b", "relative", ""}) {
    EXPECT_FALSE(site_file(path).has_value()) << path;
  }
  EXPECT_FALSE(site_file(std::string_view("/a\0b", 4)).has_value());
}

TEST(StaticSiteTest, MissingFilesAreNotFoundButClientRoutesGetTheShell) {
  EXPECT_TRUE(looks_like_file("assets/gone"));
  EXPECT_TRUE(looks_like_file("favicon.ico"));
  EXPECT_FALSE(looks_like_file("c/42"));
  EXPECT_FALSE(looks_like_file("settings"));
}

TEST(StaticSiteTest, ContentTypesComeFromExtensions) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("app-1a2b.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("manifest.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type_for("icon.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
  EXPECT_EQ(content_type_for("x.exe"), "application/octet-stream");
}

TEST(StaticSiteTest, GzipIsAcceptedUnlessRefused) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br, zstd"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

}  // namespace
}  // namespace parley::web
