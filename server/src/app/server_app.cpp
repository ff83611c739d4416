#include "app/server_app.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <pthread.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "account/deletion_routes.hpp"
#include "account/export_routes.hpp"
#include "account/export_service.hpp"
#include "api/services.hpp"
#include "app/ops_routes.hpp"
#include "auth/account_routes.hpp"
#include "auth/authenticator.hpp"
#include "auth/login_throttle.hpp"
#include "auth/two_factor_routes.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/shared_counters.hpp"
#include "auth/password_hasher.hpp"
#include "contacts/contact_routes.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "media/media_routes.hpp"
#include "media/media_service.hpp"
#include "messaging/conversation_routes.hpp"
#include "metrics/metrics.hpp"
#include "net/tls_context.hpp"
#include "realtime/hub.hpp"
#include "realtime/presence.hpp"
#include "ws/connection_limits.hpp"
#include "ws/websocket_server.hpp"
#include "http/upgrade.hpp"
#include "profile/profile_routes.hpp"
#include "push/push_routes.hpp"
#include "push/push_service.hpp"
#include "stickers/sticker_import.hpp"
#include "search/search_routes.hpp"
#include "stickers/sticker_routes.hpp"
#include "storage/blob_store.hpp"
#include "storage/open_store.hpp"
#include "web/static_site.hpp"

namespace parley::app {
namespace {

// How long in-flight requests may take to finish at shutdown.
constexpr std::chrono::seconds kShutdownGrace{10};
// How often expired sessions are swept from the database.
constexpr std::chrono::minutes kSessionSweepInterval{10};

// Hands each committed batch of events to the hub on one strand of the I/O
// threads. The database writer goes back to committing at once instead of
// building frames and waking devices, and the batches still reach the hub
// one at a time and in position order: a strand runs its handlers in the
// order they were posted. Then the push service sees them (after the hub,
// so that whether a recipient is online is what the hub just delivered to).
//
// In a cluster the batch goes to the cluster node instead, whose ordered
// merge hands this node's and other nodes' events to the hub in position
// order (cluster/cluster_node.hpp); only the node that committed a message
// pushes it, from the writer's thread.
class StrandEventSink final : public storage::EventSink {
 public:
  StrandEventSink(boost::asio::io_context& io, realtime::Hub& hub, realtime::Presence& presence,
                  push::PushService& push)
      : strand_(boost::asio::make_strand(io)), hub_(hub), presence_(presence), push_(push) {}

  // Set once at start-up, before any write.
  void set_cluster(cluster::ClusterNode* cluster) { cluster_ = cluster; }

  // On the writer's thread, before the batch's writes are answered: a
  // client that hears its membership change is done may connect a device at
  // once, and that device's presence must already follow the change.
  void committed(const std::vector<storage::Event>& events) override { presence_.committed(events); }

  void publish_range(storage::Position after, storage::Position upto, std::vector<storage::Event> events) override {
    if (cluster_ == nullptr) {
      if (!events.empty()) publish(std::move(events));
      return;
    }
    // Push first, here on the writer's thread (it looks up who is online
    // and queues jobs, without blocking): the events then go to the cluster
    // node as they are, where a post to the strand would need a copy of
    // every event and its message.
    if (!events.empty()) push_.notify(events);
    // Even without events: the other nodes learn these positions are empty.
    cluster_->local_commit(after + 1, upto, std::move(events));
  }

  void publish(std::vector<storage::Event> events) override {
    if (cluster_ != nullptr) {
      // A backend that reports no range (one that cannot run in a cluster).
      auto first = events.front().pos;
      auto last = events.back().pos;
      publish_range(first - 1, last, std::move(events));
      return;
    }
    boost::asio::post(strand_, [this, events = std::move(events)] {
      hub_.publish(events);
      push_.notify(events);
    });
  }

 private:
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  realtime::Hub& hub_;
  realtime::Presence& presence_;
  push::PushService& push_;
  cluster::ClusterNode* cluster_ = nullptr;
};

// The name a node goes by when cluster.node_id is not set.
std::string default_node_id(const Config& config) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "parleyd");
  return fmt::format("{}:{}", host, config.listen_port != 0 ? config.listen_port : static_cast<unsigned>(getpid()));
}

}  // namespace

struct ServerApp::Impl {
  explicit Impl(Config c)
      : signals(io_for_signals, SIGINT, SIGTERM, SIGHUP),
        config(std::move(c)),
        opened_store(storage::open_store(config.storage, prepare_data_dir(config),
                                         [this](bool write, std::size_t writes, std::chrono::duration<double> elapsed) {
                                           metrics.observe_transaction(write ? "write" : "read", writes, elapsed);
                                         })),
        store(*opened_store.store),
        hasher(config.auth),
        throttle(config.auth),
        authenticator(store, config.auth),
        presence(store, hub),
        services{config, store, hasher, throttle, authenticator, metrics, hub, media, exports},
        ws_limits(config.websocket),
        ws_context{services, hub, presence, config.websocket, ws_limits, nullptr},
        ws_transport(ws::make_transport(io.get_executor(), config.websocket)),
        server(io, config.http, router, metrics),
        media(io, store, config.media, config.data_dir / "media"),
        exports(io, store, media.blobs(), config.data_export, config.data_dir / "exports"),
        push(store, hub, metrics, config.push, config.data_dir),
        sweep_timer(io),
        touch_timer(io),
        event_sink(io, hub, presence, push) {
    store.set_event_sink(&event_sink);
    // Before any write: what a resume with nothing new is answered from.
    hub.start_stream_at(store.read([](storage::Transaction& tx) { return tx.current_position(); }));
    ws_context.transport = ws_transport.get();
    if (config.cluster.enabled()) {
      enable_cluster();
    } else {
      hub.set_presence_observer([this](storage::UserId user, bool online) { presence.changed(user, online); });
    }
    auth::register_account_routes(router, services);
    auth::register_two_factor_routes(router, services);
    profile::register_profile_routes(router, services);
    account::register_deletion_routes(router, services);
    contacts::register_contact_routes(router, services);
    messaging::register_conversation_routes(router, services);
    media::register_media_routes(router, services, media);
    account::register_export_routes(router, services, exports);
    push::register_push_routes(router, services, push);
    // Before serving: whatever a crash left half-written goes.
    media.recover();
    stickers::register_sticker_routes(router, services, media.blobs());
    search::register_search_routes(router, services);
    register_ops_routes(router, services, stopping);
    if (!config.web.root.empty()) web::register_web_app(router, config.web.root);
    server.set_upgrade_handler("/ws",
                               [this](http::Upgrade upgrade) { return ws::serve(std::move(upgrade), ws_context); });
    if (config.tls.enabled()) {
      // Throws ConfigError for a certificate or key it cannot use: better
      // not to start than to serve without the TLS the operator asked for.
      tls = std::make_shared<net::TlsContexts>(config.tls);
      server.enable_tls(tls, config.tls);
      server.set_tls_upgrade_handler(ws::tls_upgrade_handler(ws_context));
    }
  }

  // Several nodes (docs/architecture.md "Several nodes"): the cluster node
  // takes this node's commits and other nodes' over Redis, and hands the
  // hub one stream in position order; presence, typing and revocations
  // cross nodes; login throttling is shared.
  void enable_cluster() {
    auto options = config.cluster;
    if (options.node_id.empty()) options.node_id = default_node_id(config);
    cluster::RedisEndpoint endpoint;
    try {
      endpoint = cluster::RedisEndpoint::parse(options.redis_url);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(fmt::format("cluster.redis_url: {}", e.what()));
    }
    cluster::ClusterHooks hooks{
        // A gap's events, for every user, in one range read (on the cluster
        // thread: the read blocks). The hub is told first that its memory of
        // the stream is incomplete up to there (StreamPositions::
        // incomplete_through): a resume across the gap is answered from the
        // database, which keeps an ex-member's view as of their leaving.
        // Contact, block and membership changes among the events reach
        // Presence::committed through deliver, like a live batch's.
        .read_range =
            [this](storage::Position after, storage::Position upto) {
              hub.stream_incomplete_through(upto);
              return store.read([&](storage::Transaction& tx) { return tx.events_between(after, upto); });
            },
        .current_position =
            [this] { return store.read([](storage::Transaction& tx) { return tx.current_position(); }); },
        // This node's own events reached Presence::committed before they
        // were answered (StrandEventSink::committed); other nodes' reach it
        // here, before devices hear of them.
        .deliver =
            [this](std::vector<storage::Event> events) {
              presence.committed(events);
              hub.publish(events);
            },
        .presence_changed =
            [this](storage::UserId user, bool online) {
              presence.changed(user, online, realtime::Presence::LastSeen::kKeep);
            },
        .ephemeral =
            [this](const std::vector<storage::UserId>& to, std::shared_ptr<const std::string> frame,
                   std::optional<storage::UserId> except) { hub.send_to_users(to, frame, except); },
        .sessions_revoked =
            [this](const std::vector<storage::SessionId>& sessions) {
              authenticator.sessions_ended(sessions);
              hub.close_sessions_here(sessions, realtime::close_code::kSessionRevoked, "session revoked");
            },
        .presence_rules_changed = [] { realtime::Presence::relationships_changed(); },
    };
    cluster_node = std::make_unique<cluster::ClusterNode>(cluster_io, options, std::move(hooks));
    shared_counters = std::make_unique<cluster::SharedCounters>(endpoint, options.redis_timeout);
    throttle.set_shared(shared_counters.get());
    authenticator.read_sessions_every_time();
    event_sink.set_cluster(cluster_node.get());
    hub.set_presence_observer([this](storage::UserId user, bool online) {
      // Shown only when the user's state across the cluster changed.
      if (cluster_node->local_presence(user, online)) presence.changed(user, online);
    });
    hub.set_relay(realtime::Hub::Relay{
        .ephemeral = [this](const std::vector<storage::UserId>& to, const std::string& frame,
                            std::optional<storage::UserId> except) { cluster_node->publish_ephemeral(to, frame, except); },
        .sessions_closed =
            [this](const std::vector<storage::SessionId>& sessions) { cluster_node->publish_sessions_revoked(sessions); },
        .online_elsewhere = [this](storage::UserId user) { return cluster_node->presence().online_elsewhere(user); },
    });
    hub.set_intake_hold([this](std::function<void()> resume) { return cluster_node->hold_intake(std::move(resume)); });
    hub.set_presence_rules_relay([this] { cluster_node->publish_presence_rules_changed(); });
  }

  static std::filesystem::path prepare_data_dir(const Config& config) {
    std::filesystem::create_directories(config.data_dir);
    return config.data_dir;
  }

  // WebSocket connections are not the HTTP server's to drain: wait for the
  // hub's devices to finish their close handshakes (or the deadline), then
  // stop the I/O threads.
  void stop_when_devices_gone(std::chrono::steady_clock::time_point deadline) {
    if (hub.device_count() == 0 || std::chrono::steady_clock::now() >= deadline) {
      io.stop();
      return;
    }
    sweep_timer.expires_after(std::chrono::milliseconds(20));
    sweep_timer.async_wait([this, deadline](boost::system::error_code) { stop_when_devices_gone(deadline); });
  }

  void schedule_session_sweep() {
    sweep_timer.expires_after(kSessionSweepInterval);
    sweep_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      // Sessions' last-used times reach the database up to one touch
      // interval late (auth/authenticator.hpp): the sweep allows for two, so
      // it never removes a session in use. A session used after its idle
      // timeout is refused and deleted by the authenticator itself.
      auto idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(config.auth.session_idle_timeout).count() +
                     2 * authenticator.touch_interval().count();
      auto removed = std::make_shared<std::vector<storage::SessionId>>();
      store.submit_write(
          [removed, idle_ms](storage::Transaction& tx) {
            *removed = tx.delete_sessions_idle_since(now_millis() - idle_ms);
          },
          [this, removed](std::exception_ptr error) {
            auto logger = log::get("auth");
            try {
              if (error) std::rethrow_exception(error);
              if (removed->empty()) return;
              logger->info("expired sessions removed count={}", removed->size());
              authenticator.sessions_ended(*removed);
              hub.close_sessions(*removed, realtime::close_code::kSessionRevoked, "session expired");
            } catch (const std::exception& e) {
              logger->error("session sweep failed error=\"{}\"", e.what());
            }
          });
      schedule_session_sweep();
    });
  }

  // Writes the sessions' last-used times and the users' last-seen times
  // kept in memory, once per interval.
  void schedule_touch_flush() {
    touch_timer.expires_after(authenticator.touch_interval());
    touch_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      authenticator.flush_touches();
      presence.flush_last_seen();
      schedule_touch_flush();
    });
  }

  // Declared first so they are destroyed last: until the database is closed,
  // SIGINT and SIGTERM stay caught and cannot cut the shutdown short.
  boost::asio::io_context io_for_signals;
  boost::asio::signal_set signals;
  Config config;
  metrics::Metrics metrics;  // before store: the store's observer uses it
  storage::OpenedStore opened_store;  // the backend storage.backend names
  storage::Store& store;
  auth::PasswordHasher hasher;
  auth::LoginThrottle throttle;
  auth::Authenticator authenticator;
  realtime::Hub hub;
  realtime::Presence presence;
  api::Services services;
  ws::ConnectionLimits ws_limits;
  ws::Context ws_context;
  http::Router router;
  std::atomic<bool> stopping{false};
  boost::asio::io_context io;
  // The WebSocket connections' options and timer wheel: after io, whose
  // timer the wheel uses.
  std::shared_ptr<ws::Transport> ws_transport;
  http::Server server;
  // After io (its sweep timer) and before anything that serves requests.
  media::MediaService media;
  // After media (its blob store) and store; destroyed before them.
  account::ExportService exports;
  std::shared_ptr<net::TlsContexts> tls;  // null when TLS is off
  // After store, hub and metrics, which its thread uses; stopped before the
  // store is.
  push::PushService push;
  boost::asio::steady_timer sweep_timer;
  boost::asio::steady_timer touch_timer;
  StrandEventSink event_sink;
  // The cluster node's own thread (cluster mode only): its merge reads gaps
  // from the database, which must not hold up an I/O thread.
  boost::asio::io_context cluster_io;
  std::thread cluster_thread;
  // Cluster mode only (null otherwise); after io, hub, store and
  // presence, which it uses; stopped after the I/O threads.
  std::unique_ptr<cluster::ClusterNode> cluster_node;
  std::unique_ptr<cluster::SharedCounters> shared_counters;
};

ServerApp::ServerApp(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
ServerApp::~ServerApp() = default;

std::vector<std::string> ServerApp::route_list() const {
  std::vector<std::string> list;
  for (const auto& route : impl_->router.routes()) list.push_back(route.method + " " + route.pattern);
  return list;
}

int ServerApp::run() {
  auto logger = log::get("server");
  Impl& app = *impl_;
  // The default sticker pack, once in the life of the data folder
  // (docs/architecture.md), after media.recover() cleaned the blob staging
  // and before the blob sweeper starts. Here rather than in the
  // constructor, so that --print-routes changes nothing.
  if (app.config.stickers.install_default_pack) {
    stickers::install_default_pack(app.store, app.media.blobs(), app.config.data_dir / "tmp");
  }
  // Exports a previous process left unfinished fail; stray files go.
  app.exports.recover();
  std::string address = app.server.listen(app.config.listen_host, app.config.listen_port);
  // By default one I/O thread per core but the one the database writer keeps
  // busy under load.
  unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  unsigned threads = app.config.threads != 0 ? app.config.threads : std::max(1U, cores - 1);
  logger->info("listening address={} threads={} data_dir={}", address, threads, app.config.data_dir.string());

  // The signal set lives on its own io_context, polled by a thread of its
  // own, so that a signal during shutdown is still caught (and ignored).
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      // Certificate renewal: new connections get the new certificate, open
      // ones keep theirs. Runs on the signal thread, off the I/O threads.
      if (app.tls) {
        app.tls->reload();
      } else {
        logger->info("SIGHUP ignored: TLS is off, nothing to reload");
      }
    } else if (!app.stopping.exchange(true)) {
      logger->info("shutting down signal={}", signal);
      boost::asio::post(app.io, [&app] {
        app.sweep_timer.cancel();
        app.touch_timer.cancel();
        app.media.stop();
        app.exports.stop();
        app.push.stop();
        app.hub.close_all(realtime::close_code::kGoingAway, "server shutting down");
        auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
        app.server.shutdown(kShutdownGrace, [&app, deadline] { app.stop_when_devices_gone(deadline); });
      });
    } else {
      logger->info("already shutting down signal={}", signal);
    }
    app.signals.async_wait(on_signal);
  };
  app.signals.async_wait(on_signal);
  std::thread signal_thread([&app] { app.io_for_signals.run(); });
  app.schedule_session_sweep();
  app.schedule_touch_flush();
  auto cluster_work = boost::asio::make_work_guard(app.cluster_io);
  // Whatever way run() ends, the cluster thread ends first.
  struct JoinCluster {
    Impl& app;
    ~JoinCluster() {
      if (!app.cluster_thread.joinable()) return;
      app.cluster_io.stop();
      app.cluster_thread.join();
    }
  } join_cluster{app};
  if (app.cluster_node) {
    app.cluster_thread = std::thread([&app] {
      pthread_setname_np(pthread_self(), "parley-cluster");
      app.cluster_io.run();
    });
    app.cluster_node->start(app.store.read([](storage::Transaction& tx) { return tx.current_position(); }));
  }
  app.media.start();
  app.exports.start();
  app.push.start();

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&app] {
      pthread_setname_np(pthread_self(), "parley-io");
      app.io.run();
    });
  }
  app.io.run();
  for (auto& thread : pool) thread.join();
  if (app.cluster_node) {
    app.cluster_node->stop(true);
    app.cluster_io.stop();
    app.cluster_thread.join();
  }
  // The export job in progress stops at its next page and writes nothing more.
  app.exports.join();
  app.push.stop();
  // The last uses of sessions (connections that just closed among them).
  app.authenticator.flush_touches();
  // The last-seen times of users whose devices left, the shutdown's among them.
  app.presence.flush_last_seen();
  // Writes still queued complete now, while the I/O objects their
  // completions post to and the hub that gets their events still exist.
  app.opened_store.stop();
  app.io_for_signals.stop();
  signal_thread.join();
  logger->info("stopped");
  return 0;
}

}  // namespace parley::app
