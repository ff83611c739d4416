// Web Push delivery: turns committed messages into encrypted pushes to the
// subscriptions of recipients who have no device connected, and sends them
// to the browsers' push services over HTTPS (RFC 8030, 8291, 8292).
//
// Who gets a push for a new message (docs/architecture.md "Push"): every
// member of its conversation but the sender who, when the message is
// published, has no WebSocket connected (a connected device shows the
// message itself: the web app notifies while a tab is open), has
// notifications enabled, and has not muted the conversation.
//
// Threads: notify() is called on the hub's strand and only queues (bounded;
// beyond queue_limit a message's pushes are dropped and counted). Everything
// else runs on the service's own thread and io_context: reading
// subscriptions and settings from the store, encrypting, and the HTTPS
// requests, many in flight at once as coroutines. The writer and the I/O
// threads never wait for a push service.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "push/push_crypto.hpp"
#include "storage/store.hpp"

namespace parley::realtime {
class Hub;
}
namespace parley::metrics {
class Metrics;
}

namespace parley::push {

class PushService {
 public:
  // Loads or creates the VAPID key in `data_dir`/push/vapid.pem. Throws
  // std::runtime_error when the key file cannot be used.
  PushService(storage::Store& store, realtime::Hub& hub, metrics::Metrics& metrics, const PushOptions& options,
              const std::filesystem::path& data_dir);
  ~PushService();  // stops
  PushService(const PushService&) = delete;
  PushService& operator=(const PushService&) = delete;

  // The application server key browsers subscribe with (65 bytes).
  [[nodiscard]] const std::string& public_key() const { return vapid_.public_key(); }

  // Starts the service's thread.
  void start();
  // Stops taking work, abandons pushes waiting or in flight, and joins the
  // thread. Idempotent.
  void stop();

  // Committed events: on one node, on the hub's strand after the hub
  // delivered them; in a cluster, on the database writer's thread as they
  // are committed (the hub gets them later, through the cluster's merge).
  // Queues a push job for each new message with recipients offline, and
  // does not block. Thread-safe.
  void notify(const std::vector<storage::Event>& events);

 private:
  struct Job;
  struct Delivery;
  void run_job(const std::shared_ptr<Job>& job);
  boost::asio::awaitable<void> deliver(std::shared_ptr<Delivery> delivery);

  storage::Store& store_;
  realtime::Hub& hub_;
  metrics::Metrics& metrics_;
  const PushOptions& options_;
  VapidKey vapid_;
  std::shared_ptr<void> tls_;  // the client's ssl::context, kept out of this header
  // Before io_: coroutines destroyed with io_ release their jobs' slots.
  std::atomic<std::size_t> queued_{0};  // jobs accepted and not finished
  std::atomic<bool> stopped_{false};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace parley::push
