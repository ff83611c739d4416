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
  // path, which would make unbounded label values), or "unmatched".
  void observe_request(std::string_view method, std::string_view route, int status,
                       std::chrono::duration<double> elapsed);

  void connection_opened();
  void connection_closed();

  // One storage transaction; `kind` is "read" or "write"; `writes` is how
  // many queued writes one commit held (group commit).
  void observe_transaction(std::string_view kind, std::size_t writes, std::chrono::duration<double> elapsed);

  // Everything in the Prometheus text exposition format.
  [[nodiscard]] std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::metrics
