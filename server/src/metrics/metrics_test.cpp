#include "metrics/metrics.hpp"

#include <string>

#include <gtest/gtest.h>

namespace parley::metrics {
namespace {

TEST(MetricsTest, KnownMethodsAreTheirOwnLabelAndAnythingElseIsOther) {
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    EXPECT_EQ(Metrics::method_label(method), method);
  }
  for (const char* method : {"", "get", "CONNECT", "TRACE", "PROPFIND", "GETX", "-"}) {
    EXPECT_EQ(Metrics::method_label(method), "other") << method;
  }
}

TEST(MetricsTest, RequestsWithManyDistinctMethodsShareOneSeries) {
  Metrics metrics;
  for (int i = 0; i < 100; ++i) {
    metrics.observe_request("BREW" + std::to_string(i), "other", 405, std::chrono::milliseconds(1));
  }
  auto text = metrics.serialize();
  EXPECT_NE(text.find(R"(parley_http_requests_total{method="other",route="other",status="405"} 100)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("BREW"), std::string::npos);
}

}  // namespace
}  // namespace parley::metrics
