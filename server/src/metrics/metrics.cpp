#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>

namespace parley::metrics {

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("parley_http_requests_total")
          .Help("HTTP requests answered, by route pattern, method and status")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& request_seconds =
      prometheus::BuildHistogram()
          .Name("parley_http_request_duration_seconds")
          .Help("Time from a complete request to its response, by route pattern")
          .Register(registry);
  prometheus::Gauge& open_connections = prometheus::BuildGauge()
                                            .Name("parley_http_open_connections")
                                            .Help("HTTP connections currently open")
                                            .Register(registry)
                                            .Add({});
  prometheus::Family<prometheus::Histogram>& transaction_seconds =
      prometheus::BuildHistogram()
          .Name("parley_db_transaction_duration_seconds")
          .Help("Storage transaction time including the wait for a connection, by kind")
          .Register(registry);

  prometheus::Histogram& writes_per_commit =
      prometheus::BuildHistogram()
          .Name("parley_db_writes_per_commit")
          .Help("Writes carried by one commit (group commit batch size)")
          .Register(registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512});

  prometheus::Family<prometheus::Counter>& pushes =
      prometheus::BuildCounter()
          .Name("parley_push_total")
          .Help("Web Push messages by outcome: sent, failed, gone, refused, retried, dropped")
          .Register(registry);

  // From 0.1 ms to 10 s: requests that hash passwords take ~50 ms, most take
  // well under a millisecond.
  static prometheus::Histogram::BucketBoundaries buckets() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

std::string_view Metrics::method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 7> kKnown{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

void Metrics::observe_request(std::string_view method, std::string_view route, int status,
                              std::chrono::duration<double> elapsed) {
  impl_->requests
      .Add({{"route", std::string(route)},
            {"method", std::string(method_label(method))},
            {"status", std::to_string(status)}})
      .Increment();
  impl_->request_seconds.Add({{"route", std::string(route)}}, Impl::buckets()).Observe(elapsed.count());
}

void Metrics::connection_opened() { impl_->open_connections.Increment(); }
void Metrics::connection_closed() { impl_->open_connections.Decrement(); }

void Metrics::observe_transaction(std::string_view kind, std::size_t writes, std::chrono::duration<double> elapsed) {
  impl_->transaction_seconds.Add({{"kind", std::string(kind)}}, Impl::buckets()).Observe(elapsed.count());
  if (kind == "write") impl_->writes_per_commit.Observe(static_cast<double>(writes));
}

void Metrics::observe_push(std::string_view outcome) { impl_->pushes.Add({{"outcome", std::string(outcome)}}).Increment(); }

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace parley::metrics
