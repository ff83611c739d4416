// The server's Prometheus metrics, exposed at /metrics in the text format.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace parley::metrics {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished HTTP request. `route` is the matched pattern (not the raw
  // path), or "other" for a request that matched no route. Every label comes
  // from a bounded set, because each distinct label set is a time series
  // held for the life of the process: `method` is passed through
  // method_label(), so whatever a client sends as its method, at most eight
  // method values exist.
  void observe_request(std::string_view method, std::string_view route, int status,
                       std::chrono::duration<double> elapsed);

  // The metrics label for an HTTP method: the method itself for GET, HEAD,
  // POST, PUT, PATCH, DELETE and OPTIONS (case-sensitive, as methods are),
  // "other" for anything else, including the empty string.
  [[nodiscard]] static std::string_view method_label(std::string_view method);

  void connection_opened();
  void connection_closed();

  // One storage transaction; `kind` is "read" or "write"; `writes` is how
  // many queued writes one commit held (group commit).
  void observe_transaction(std::string_view kind, std::size_t writes, std::chrono::duration<double> elapsed);

  // One Web Push outcome (push/push_service.hpp): "sent", "failed",
  // "gone" (the subscription was deleted), "refused" (a non-public
  // address), "retried" (one more attempt scheduled) or "dropped" (the
  // queue was full). Only these values: each is a time series.
  void observe_push(std::string_view outcome);

  // Everything in the Prometheus text exposition format.
  [[nodiscard]] std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::metrics
