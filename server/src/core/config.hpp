// parleyd's configuration: what it is, where it comes from, and its defaults.
//
// Sources, later ones overriding earlier ones:
//   1. built-in defaults (below, each justified),
//   2. the TOML file named by --config or PARLEY_CONFIG,
//   3. environment variables PARLEY_LISTEN, PARLEY_DATA_DIR, PARLEY_THREADS,
//      PARLEY_LOG_LEVEL, PARLEY_WEB_ROOT,
//   4. command-line flags (--listen, --data-dir, --threads, --log-level,
//      --web-root).
// An unknown key in the file, a value of the wrong type or out of range is an
// error (ConfigError) and parleyd refuses to start: a typo must never silently
// fall back to a default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpOptions {
  // JSON bodies of this API are small (a profile, a password); 64 KiB leaves
  // room for long status texts while capping memory per request.
  std::size_t max_body_bytes = 64 * 1024;
  // Browsers send 1-4 KiB of headers; 16 KiB fits large cookies and tokens.
  std::size_t max_header_bytes = 16 * 1024;
  // A client has this long to send a whole request once it started one, and
  // a new connection this long from accept to send its first request; slow
  // senders (slowloris) and silent connections are cut off.
  std::chrono::seconds read_timeout{15};
  // An idle keep-alive connection is closed after this long; browsers reuse
  // connections within a few seconds, so 60 s keeps reuse without hoarding.
  std::chrono::seconds idle_timeout{60};
  // Beyond this many open connections new ones are closed at once, so a flood
  // runs into a limit rather than into the process's file descriptor limit.
  std::size_t max_connections = 10000;
  // Reverse proxies whose client-address header is believed (addresses or
  // CIDR blocks, see http/client_address.hpp). Empty: the TCP peer is the
  // client, and X-Forwarded-For or Forwarded from anyone is ignored, since
  // a client can write whatever it likes there.
  std::vector<std::string> trusted_proxies;
  // The header those proxies write the client chain into:
  // "X-Forwarded-For" (most proxies) or "Forwarded" (RFC 7239). Only one is
  // read, so a client cannot smuggle an address in the other.
  std::string forwarded_header = "X-Forwarded-For";
};

struct AuthOptions {
  // A session unused for this long expires: a month covers a device that is
  // used now and then without keeping lost devices logged in forever.
  std::chrono::seconds session_idle_timeout{30LL * 24 * 3600};
  // argon2id cost. The OWASP minimum (19 MiB, 2 passes) is the floor; the
  // default is libsodium's "interactive" memory cost, ~50 ms on one core.
  std::size_t password_memory_bytes = 64ULL * 1024 * 1024;
  unsigned password_passes = 2;
  // Threads that hash passwords. 0 = one per core. Each holds
  // password_memory_bytes while hashing, so this also caps hashing memory.
  unsigned hash_workers = 0;
  // Hash requests allowed to wait for a worker; more are refused with 503 so a
  // login flood queues a bounded amount of work.
  std::size_t hash_queue_limit = 64;
  // Login throttling (auth/login_throttle.hpp): failures tolerated before
  // delays start, per key. Five lets a person mistype from one place; twenty
  // per address lets a shared NAT work; fifty per account from anywhere
  // stops a botnet guessing one account, and only delays unknown devices:
  // a device that logged in to the account before is never delayed by it.
  // The per-pair limit also applies per (account, known device).
  unsigned login_failures_per_pair = 5;
  unsigned login_failures_per_address = 20;
  unsigned login_failures_per_account = 50;
  // The first delay, doubled at each further failure up to the cap. A
  // second is nothing to a person; twelve failures later an attacker waits
  // 15 minutes per guess.
  std::chrono::seconds login_delay_base{1};
  std::chrono::seconds login_delay_max{15 * 60};
  // A key's failures are forgotten after this long without a new one, so
  // delays decay once the guessing stops.
  std::chrono::seconds login_failure_window{15 * 60};
  // Keys the throttle keeps (about 200 bytes each); the least recently
  // touched is evicted beyond it, never the whole table.
  std::size_t login_throttle_max_entries = 100'000;
  // Sessions served from memory (auth/session_cache.hpp): token hash to
  // session, about 200 bytes each, the least recently used evicted beyond
  // it. 100,000 covers every device of a large server; a session that was
  // evicted costs one database read at its next use, nothing else.
  std::size_t session_cache_entries = 100'000;
  // A session's last-used time is kept in memory and written to the
  // database at most once per this interval: a reconnecting device costs no
  // write, and the sessions list, which reads the memory too, stays exact.
  // A minute is nothing beside the idle timeout the stored time serves;
  // with an idle timeout under two intervals, half the timeout is used.
  std::chrono::seconds session_touch_interval{60};
};

// Account deletion (docs/security.md "Account deletion").
struct AccountOptions {
  // How long a deleted account's username may not be registered again. A
  // month outlasts the time others need to notice the account is gone, so
  // nobody can take the name and pass for them meanwhile; after it the name
  // is free again, so a popular name is not lost forever.
  std::chrono::seconds deleted_username_reserve{30LL * 24 * 3600};
};

struct WebSocketOptions {
  // Chat frames are small; 64 KiB holds a 4000-character message many times
  // over. Applies after permessage-deflate decompression too.
  std::size_t max_frame_bytes = 64 * 1024;
  // Time to complete the upgrade and send the hello frame.
  std::chrono::seconds handshake_timeout{10};
  // A peer silent this long is dead; a ping is sent at half of it, so a live
  // but idle client is never dropped. 30 s suits mobile NAT timeouts.
  std::chrono::seconds idle_timeout{30};
  // Frames a device session may send per second on average, and in one
  // burst, shared by all of the session's connections (a second socket of
  // the same login adds no allowance). A person types far slower; a client
  // syncing receipts sends bursts.
  unsigned frames_per_second = 50;
  unsigned frame_burst = 200;
  // The same for a user, across all of the user's sessions and connections:
  // two devices syncing at full speed at once, while 20 sockets of one user
  // still get no more than that together.
  unsigned user_frames_per_second = 100;
  unsigned user_frame_burst = 400;
  // Open connections per user: a phone, a tablet, a desktop app and a dozen
  // browser tabs fit in 20; more is a runaway client or an attempt to
  // multiply its allowances. Over the cap the upgrade is refused with 429,
  // or (authenticated by the hello frame) the connection is closed with 4429.
  unsigned max_connections_per_user = 20;
  // Open connections per client address (IPv6: per /64, which one host can
  // fill), before authentication: 256 lets an office or a carrier NAT share
  // an address while one host cannot take all of http.max_connections. The
  // address is the client's as http.trusted_proxies resolves it. 0 = no cap.
  // Over the cap the upgrade is refused with 429.
  unsigned max_connections_per_address = 256;
  // Bytes of frames queued for a client that does not read. Past this, a
  // client whose socket has taken nothing for a second is too slow: it is
  // disconnected and resumes later, so a stuck peer never holds memory. A
  // burst from one commit may queue up to 8 times this for a moment. 1 MiB
  // is seconds of busy traffic.
  std::size_t max_outbound_bytes = 1024 * 1024;
  // Sends a client may have waiting for their commit; more pause its reads.
  unsigned max_inflight_writes = 64;
  // A device that missed more events than this is told to page history
  // instead of receiving them one by one.
  std::size_t max_resume_events = 10000;
  // Origins (scheme://host[:port]) allowed besides the server's own. Browsers
  // send Origin; native clients do not and are not checked.
  std::vector<std::string> allowed_origins;
};

enum class TlsVersion { kTls12, kTls13 };

// TLS on the listening port: on when cert_file and key_file are both set,
// and then every connection is TLS (HTTPS and WSS). See docs/security.md.
struct TlsOptions {
  // PEM files: the certificate chain (leaf first) and its private key. Read
  // at start and again on SIGHUP (a certificate renewal needs no restart).
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  // TLS 1.2 is the floor (1.0 and 1.1 are never offered); 1.3 only shuts
  // out old clients for no gain in security against today's attacks.
  TlsVersion min_version = TlsVersion::kTls12;
  // Time from the TCP accept to a finished TLS handshake. A handshake takes
  // two round trips; 10 s is generous for a slow mobile link while a peer
  // that opens connections and never finishes them holds each one briefly.
  std::chrono::seconds handshake_timeout{10};
  // Strict-Transport-Security max-age sent with every response: one year,
  // the value browsers' preload lists ask for. 0 sends no header.
  std::chrono::seconds hsts_max_age{365LL * 24 * 3600};

  [[nodiscard]] bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

enum class SqliteSynchronous { kFull, kNormal };

// Where parleyd keeps its data (docs/architecture.md "Storage"): SQLite in
// the data folder (one node), or PostgreSQL (several nodes on one database).
enum class StorageBackend { kSqlite, kPostgres };

struct StorageOptions {
  // FULL makes every commit durable against power loss, not only against a
  // crash of the process; NORMAL in WAL mode may lose the last commits on
  // power loss. Acknowledged data must survive, hence FULL.
  SqliteSynchronous sqlite_synchronous = SqliteSynchronous::kFull;
  // After a message is deleted or edited, its old words stay in the search
  // index's segments (SQLite 3.40's FTS5 has no secure-delete) until the
  // writer rewrites the index ('optimize'), which holds up writes while it
  // runs: 0.2 s at 100,000 messages, 5.7 s at 1,000,000 (docs/benchmarks.md
  // "Search"). A purge starts at most this long after the previous one
  // ended, and never sooner than 99 times the previous one's duration after
  // it (at most 1% of the writer's time): a deleted word leaves the files
  // within about a minute on a small server, ten on a large one.
  std::chrono::seconds search_purge_interval{60};
  // Group commit: writes arriving within this long after a commit wait for
  // the rest of it and are committed together. Under load a commit then
  // carries several messages instead of one or two, which divides its cost
  // (WAL frames, fdatasync, per-batch counters) and multiplies what the
  // disk sustains; a write after a quiet moment is not delayed. 1 ms is far
  // below what a person notices and about the disk's own fdatasync time
  // (docs/benchmarks.md "Performance round 2: the writer"). 0 = commit as
  // soon as the previous commit ends.
  std::chrono::microseconds group_commit_window{1000};
  // [storage] backend = "sqlite" | "postgres".
  StorageBackend backend = StorageBackend::kSqlite;
  // A libpq connection string ("host=db.example port=5432 dbname=parley
  // user=parley") or URL (postgresql://...), for the PostgreSQL backend. A
  // password is better kept in ~/.pgpass or PGPASSWORD than here.
  std::string postgres_url;
  // Reader connections per node at most. Reads are short; 8 keeps a node's
  // I/O threads busy without taking many of the server's max_connections
  // (each node also holds one writer connection).
  std::size_t postgres_pool_size = 8;
};

// The media server (docs/architecture.md "Media"): uploads, quotas, the
// sweepers and image processing.
struct MediaOptions {
  // One file's size. 100 MiB takes phone videos of a few minutes and
  // documents; larger files belong in a file-sharing service, and every
  // byte here is kept (with quota) until it is deleted.
  std::uint64_t max_upload_bytes = 100ULL << 20;
  // Bytes a user may hold: their media plus their uploads in progress (each
  // reserves its announced size). 10 GiB is years of ordinary chat use and
  // keeps one account from filling the disk. 0 = no quota.
  std::uint64_t quota_bytes = 10ULL << 30;
  // Resumable uploads in progress per user: each one is an open file on the
  // disk, so they are capped apart from their bytes. 20 covers a gallery
  // being shared from a phone.
  unsigned max_open_uploads = 20;
  // An upload with no part received for this long is abandoned: its row and
  // file are deleted. A day lets a phone finish after a night offline.
  std::chrono::seconds upload_expiry{24 * 3600};
  // A file no message or avatar refers to is deleted this long after its
  // upload, or after its last reference went (media/orphan_sweep.hpp): a
  // client uploads before it sends, and a day covers sending from a device
  // that went offline in between.
  std::chrono::seconds orphan_grace{24 * 3600};
  // How often the sweepers (expired uploads, orphans, unreferenced blobs)
  // run. A minute keeps the disk close to what is referenced at the cost of
  // a few cheap index queries.
  std::chrono::seconds sweep_interval{60};
  // Thumbnail worker threads and jobs waiting for them (media/thumbnailer.hpp).
  // One worker: shrink-on-load makes a thumbnail tens of milliseconds, and
  // the I/O threads need the other cores. A full queue answers 503.
  unsigned thumbnail_workers = 1;
  std::size_t thumbnail_queue = 64;
  // Pixels in one image frame before it is refused as a decompression bomb
  // (media/image.hpp): 50 MP is above every phone camera in use.
  std::uint64_t max_image_pixels = 50'000'000;
};

// Personal data exports (docs/security.md "Personal data export"; TOML
// table [export]).
struct ExportOptions {
  // How long a finished archive can be downloaded before the sweeper deletes
  // it. A week leaves time to fetch it after a weekend away, and does not
  // keep a full copy of someone's data lying around for longer.
  std::chrono::seconds expiry{7LL * 24 * 3600};
  // The least time between two exports a user asks for (a failed one does
  // not count). An export reads everything the user can see and writes a
  // file as large as all the media they sent: once a day is plenty for a
  // person and keeps one account from keeping the disk and a core busy.
  // 0 = no limit (tests).
  std::chrono::seconds min_interval{24 * 3600};
  // How often the sweeper looks for expired archives: one indexed query.
  std::chrono::seconds sweep_interval{60};
};

// Sticker packs (docs/architecture.md "Sticker packs").
struct StickerOptions {
  // Install the project's default pack (parley-default) at first start, once
  // in the life of the data folder. On: a new server has stickers to send
  // out of the box. Off for a server that wants only its own packs; an
  // installed default pack is removed with `parleyd stickers remove`.
  bool install_default_pack = true;
};

// The web app (web/static_site.hpp).
struct WebOptions {
  // The folder of the built web app (web/dist): served at `/`. Empty: no web
  // app, only the API (a server that only native clients use). Relative to
  // the working directory.
  std::filesystem::path root;
};

// Web Push (docs/architecture.md "Push"; TOML table [push]).
struct PushOptions {
  // Send Web Push messages at all. On: a browser that subscribed expects
  // them. Off keeps the routes (subscriptions are still kept) and sends
  // nothing, for a server that may not reach the Internet.
  bool enabled = true;
  // The VAPID "sub" claim (RFC 8292 §2.1): how a push service reaches the
  // operator, "mailto:..." or "https://...". Empty: no claim; some push
  // services then refuse or throttle sooner, so set it in production.
  std::string subject;
  // A PEM file of CA certificates to verify push services against instead
  // of the system's (tests, or a self-hoster's own push relay). Empty: the
  // system's store.
  std::filesystem::path ca_file;
  // Send to endpoints whose addresses are loopback, private or link-local.
  // Off: a subscriber could otherwise make the server POST into its own
  // network (SSRF). On only for tests and relays on the operator's network.
  bool allow_private_endpoints = false;
  // Subscriptions one user may hold: one per browser profile they use;
  // 20 is more devices than a person has and bounds the fan-out of a message.
  unsigned max_subscriptions_per_user = 20;
  // Messages waiting to be pushed (each to every subscription of one or
  // more users). Beyond this they are dropped and counted: a push is a hint,
  // the message itself is safe in the stream, and memory stays bounded.
  std::size_t queue_limit = 1000;
  // Tries per push (the first and the retries after 429 and 5xx answers or
  // network errors). 4 rides out a push service's brief outage.
  unsigned max_attempts = 4;
  // The first retry's delay when the push service gives no Retry-After;
  // doubled on each retry. 10 s is long enough not to hammer a service in
  // trouble.
  std::chrono::seconds retry_initial{10};
  // The longest delay honoured from a Retry-After or the backoff: a message
  // pushed later than this is stale; the push is given up instead.
  std::chrono::seconds retry_max{600};
  // One request to a push service: connect, TLS, send and the answer.
  // 15 s covers a slow service; a hung one does not hold a slot longer.
  std::chrono::seconds request_timeout{15};
  // How long the push service keeps a message for a device that is offline
  // (the TTL header). A day: a chat notification older than that is noise,
  // the messages are there when the app opens.
  std::chrono::seconds ttl{24 * 3600};
};

// Several nodes on one PostgreSQL database, with Redis between them
// (docs/architecture.md "Several nodes", docs/deploy.md; TOML table
// [cluster]). Off unless redis_url is set.
struct ClusterOptions {
  // redis://[:password@]host[:port][/db] of the Redis every node of the
  // cluster uses. Empty: a single node, nothing is published.
  std::string redis_url;
  // This node's name, unique in the cluster: other nodes track its users'
  // presence under it. Empty: the host name and the listening port.
  std::string node_id;
  // How often the node announces its connected users (presence
  // heartbeat). 2 s keeps a heartbeat's cost (one PUBLISH of the user ids)
  // small against node_timeout.
  std::chrono::milliseconds heartbeat_interval{2000};
  // A node not heard for this long is taken for dead and its users go
  // offline on the other nodes. 10 s is five missed heartbeats: a busy
  // node is not declared dead, a crashed one's users show offline within
  // 10 s.
  std::chrono::milliseconds node_timeout{10'000};
  // How long a missing position may wait for its batch over Redis before
  // it is read from the database (cluster/ordered_merge.hpp).
  std::chrono::milliseconds gap_wait{200};
  // How often the database's position is polled while Redis is
  // unreachable: the pace of delivery across nodes then. 250 ms costs one
  // indexed read four times a second per node.
  std::chrono::milliseconds poll_interval{250};
  // The same while Redis is up: how late a lost last batch (nothing after
  // it to reveal the gap) can be noticed.
  std::chrono::milliseconds idle_poll_interval{2000};
  // Messages waiting to be sent to Redis. Beyond this they are dropped
  // (and read from the database by the other nodes): memory stays bounded
  // when Redis is slow.
  std::size_t publish_queue = 10'000;
  // One Redis command's timeout (connect, and each reply).
  std::chrono::milliseconds redis_timeout{500};
  // Flow control (cluster/cluster_node.hpp hold_intake()): past this many
  // positions committed but not yet delivered by this node, it stops
  // reading its devices' frames until the backlog is back to half, so that
  // a node short of CPU delivers what the other nodes committed before it
  // takes more sends. 2,000 is well under a second of delivery on a small
  // node, and several of the largest commit batches (PgStore: 512 writes),
  // so that one batch never closes it. 0: no flow control.
  std::int64_t delivery_backlog = 2000;
  // The longest the intake stays closed at once, however the backlog
  // stands: a delivery that stalls (a gap read from a slow database) must
  // not stop the node's sends for longer.
  std::chrono::milliseconds intake_hold_max{500};

  [[nodiscard]] bool enabled() const { return !redis_url.empty(); }
};

struct Config {
  // Loopback by default: a fresh install is not reachable from the network
  // until the operator says so.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  // Relative to the working directory: `./data` beside where it was started.
  std::filesystem::path data_dir = "data";
  // I/O threads. 0 = one per core less one (at least one): the database
  // writer thread keeps a core busy under load, and more runnable threads
  // than cores only add context switches.
  unsigned threads = 0;
  std::string log_level = "info";
  HttpOptions http;
  AuthOptions auth;
  AccountOptions accounts;
  WebSocketOptions websocket;
  StorageOptions storage;
  TlsOptions tls;
  MediaOptions media;
  StickerOptions stickers;
  WebOptions web;
  ExportOptions data_export;  // [export]
  PushOptions push;
  ClusterOptions cluster;
};

// Reads an environment variable; returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// Applies the TOML document `text` on top of `config`. Throws ConfigError.
void apply_toml(Config& config, std::string_view text, std::string_view source_name);

// Applies PARLEY_* environment variables. Throws ConfigError.
void apply_environment(Config& config, const EnvLookup& env);

// Sets the log level; throws ConfigError for a name spdlog does not know.
void apply_log_level(Config& config, std::string_view level);

// Parses "host:port" (IPv6 as "[::1]:8080") into config. Throws ConfigError.
void apply_listen(Config& config, std::string_view host_port);

// Checks cross-field rules and floors (e.g. the argon2 minimums). Throws
// ConfigError.
void validate(const Config& config);

// The process environment, for apply_environment.
[[nodiscard]] EnvLookup process_environment();

}  // namespace parley
