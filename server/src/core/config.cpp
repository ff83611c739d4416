#include "core/config.hpp"

#include <charconv>
#include <set>
#include <cstdlib>
#include <toml++/toml.h>

#include <fmt/format.h>

#include "http/client_address.hpp"

namespace parley {
namespace {

constexpr std::size_t kMinPasswordMemory = 19ULL * 1024 * 1024;  // OWASP
constexpr unsigned kMinPasswordPasses = 2;                        // OWASP

std::int64_t parse_integer(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw ConfigError(fmt::format("{}: '{}' is not an integer", what, text));
  }
  return value;
}

// Reads typed values out of one TOML table and rejects keys nobody asked for.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix)
      : table_(table), prefix_(std::move(prefix)) {}

  template <typename T>
  void integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    if (const toml::node* node = take(key)) {
      // Only an integer node is read as one: toml++ 3.x converts a float node
      // to int64 without a range check (undefined behaviour for 1e99).
      if (!node->is_integer()) throw type_error(key, "an integer");
      auto value = node->value<std::int64_t>();
      if (!value) throw type_error(key, "an integer");
      if (*value < min || *value > max) {
        throw ConfigError(fmt::format("{}: {} is outside [{}, {}]", name(key), *value, min, max));
      }
      out = static_cast<T>(*value);
    }
  }

  void seconds(std::string_view key, std::chrono::seconds& out, std::int64_t min, std::int64_t max) {
    std::int64_t value = out.count();
    integer(key, value, min, max);
    out = std::chrono::seconds(value);
  }

  void string(std::string_view key, std::string& out) {
    if (const toml::node* node = take(key)) {
      if (!node->is_string()) throw type_error(key, "a string");
      out = *node->value<std::string>();
    }
  }

  void boolean(std::string_view key, bool& out) {
    if (const toml::node* node = take(key)) {
      if (!node->is_boolean()) throw type_error(key, "a boolean");
      out = *node->value<bool>();
    }
  }

  void strings(std::string_view key, std::vector<std::string>& out) {
    if (const toml::node* node = take(key)) {
      const toml::array* array = node->as_array();
      if (array == nullptr) throw type_error(key, "an array of strings");
      out.clear();
      for (const auto& item : *array) {
        if (!item.is_string()) throw type_error(key, "an array of strings");
        out.push_back(*item.value<std::string>());
      }
    }
  }

  const toml::table* table(std::string_view key) {
    const toml::node* node = take(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) throw type_error(key, "a table");
    return node->as_table();
  }

  std::string name(std::string_view key) const { return prefix_ + std::string(key); }

  // Every key must have been read by now.
  void finish() const {
    for (const auto& [key, node] : table_) {
      if (!seen_.contains(std::string(key.str()))) {
        throw ConfigError(fmt::format("unknown configuration key '{}'", name(key.str())));
      }
    }
  }

 private:
  const toml::node* take(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }
  ConfigError type_error(std::string_view key, std::string_view expected) const {
    return ConfigError(fmt::format("{}: expected {}", name(key), expected));
  }

  const toml::table& table_;
  std::string prefix_;
  std::set<std::string> seen_;
};

}  // namespace

void apply_log_level(Config& config, std::string_view level) {
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (auto known : kLevels) {
    if (level == known) {
      config.log_level = std::string(level);
      return;
    }
  }
  throw ConfigError(fmt::format("log_level: unknown level '{}'", level));
}

void apply_listen(Config& config, std::string_view host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw ConfigError(fmt::format("listen: '{}' is not HOST:PORT", host_port));
  }
  std::string_view host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_integer(host_port.substr(colon + 1), "listen port");
  if (port < 0 || port > 65535) throw ConfigError(fmt::format("listen: port {} out of range", port));
  config.listen_host = std::string(host);
  config.listen_port = static_cast<std::uint16_t>(port);
}

void apply_toml(Config& config, std::string_view text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", source_name, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }

  TableReader top(root, "");
  std::string listen;
  top.string("listen", listen);
  if (!listen.empty()) apply_listen(config, listen);
  std::string data_dir;
  top.string("data_dir", data_dir);
  if (!data_dir.empty()) config.data_dir = data_dir;
  top.integer("threads", config.threads, 0, 1024);
  std::string level;
  top.string("log_level", level);
  if (!level.empty()) apply_log_level(config, level);

  if (const toml::table* http = top.table("http")) {
    TableReader r(*http, "http.");
    r.integer("max_body_bytes", config.http.max_body_bytes, 1024, 64LL << 20);
    r.integer("max_header_bytes", config.http.max_header_bytes, 1024, 1 << 20);
    r.seconds("read_timeout_seconds", config.http.read_timeout, 1, 3600);
    r.seconds("idle_timeout_seconds", config.http.idle_timeout, 1, 3600);
    r.integer("max_connections", config.http.max_connections, 1, 10'000'000);
    r.strings("trusted_proxies", config.http.trusted_proxies);
    r.string("forwarded_header", config.http.forwarded_header);
    r.finish();
  }
  if (const toml::table* auth = top.table("auth")) {
    TableReader r(*auth, "auth.");
    r.seconds("session_idle_timeout_seconds", config.auth.session_idle_timeout, 1, 10LL * 365 * 24 * 3600);
    std::size_t memory_kib = config.auth.password_memory_bytes / 1024;
    r.integer("password_memory_kib", memory_kib, 1, 4LL << 20);
    config.auth.password_memory_bytes = memory_kib * 1024;
    r.integer("password_passes", config.auth.password_passes, 1, 64);
    r.integer("hash_workers", config.auth.hash_workers, 0, 256);
    r.integer("hash_queue_limit", config.auth.hash_queue_limit, 0, 100'000);
    if (auth->contains("login_failures_per_user")) {
      throw ConfigError(
          "auth.login_failures_per_user: replaced by login_failures_per_pair (one address guessing one account) and "
          "login_failures_per_account (guessing from anywhere, which no longer delays known devices)");
    }
    r.integer("login_failures_per_pair", config.auth.login_failures_per_pair, 1, 1'000'000);
    r.integer("login_failures_per_address", config.auth.login_failures_per_address, 1, 1'000'000);
    r.integer("login_failures_per_account", config.auth.login_failures_per_account, 1, 1'000'000);
    r.seconds("login_delay_base_seconds", config.auth.login_delay_base, 1, 3600);
    r.seconds("login_delay_max_seconds", config.auth.login_delay_max, 1, 7LL * 24 * 3600);
    r.seconds("login_failure_window_seconds", config.auth.login_failure_window, 1, 7LL * 24 * 3600);
    r.integer("login_throttle_max_entries", config.auth.login_throttle_max_entries, 16, 100'000'000);
    r.integer("session_cache_entries", config.auth.session_cache_entries, 16, 100'000'000);
    r.seconds("session_touch_interval_seconds", config.auth.session_touch_interval, 1, 3600);
    r.finish();
  }
  if (const toml::table* accounts = top.table("accounts")) {
    TableReader r(*accounts, "accounts.");
    r.seconds("deleted_username_reserve_seconds", config.accounts.deleted_username_reserve, 1,
              10LL * 365 * 24 * 3600);
    r.finish();
  }
  if (const toml::table* ws = top.table("websocket")) {
    TableReader r(*ws, "websocket.");
    r.integer("max_frame_bytes", config.websocket.max_frame_bytes, 1024, 16LL << 20);
    r.seconds("handshake_timeout_seconds", config.websocket.handshake_timeout, 1, 300);
    r.seconds("idle_timeout_seconds", config.websocket.idle_timeout, 2, 3600);
    r.integer("frames_per_second", config.websocket.frames_per_second, 1, 100'000);
    r.integer("frame_burst", config.websocket.frame_burst, 1, 1'000'000);
    r.integer("user_frames_per_second", config.websocket.user_frames_per_second, 1, 100'000);
    r.integer("user_frame_burst", config.websocket.user_frame_burst, 1, 1'000'000);
    r.integer("max_connections_per_user", config.websocket.max_connections_per_user, 1, 1'000'000);
    r.integer("max_connections_per_address", config.websocket.max_connections_per_address, 0, 10'000'000);
    r.integer("max_outbound_bytes", config.websocket.max_outbound_bytes, 4096, 1LL << 30);
    r.integer("max_inflight_writes", config.websocket.max_inflight_writes, 1, 100'000);
    r.integer("max_resume_events", config.websocket.max_resume_events, 1, 10'000'000);
    r.strings("allowed_origins", config.websocket.allowed_origins);
    r.finish();
  }
  if (const toml::table* storage = top.table("storage")) {
    TableReader r(*storage, "storage.");
    std::string sync;
    r.string("sqlite_synchronous", sync);
    if (sync == "full") {
      config.storage.sqlite_synchronous = SqliteSynchronous::kFull;
    } else if (sync == "normal") {
      config.storage.sqlite_synchronous = SqliteSynchronous::kNormal;
    } else if (!sync.empty()) {
      throw ConfigError(fmt::format("storage.sqlite_synchronous: '{}' is not 'full' or 'normal'", sync));
    }
    r.seconds("search_purge_interval_seconds", config.storage.search_purge_interval, 0, 86400);
    std::int64_t window_us = config.storage.group_commit_window.count();
    r.integer("group_commit_window_us", window_us, 0, 100000);
    config.storage.group_commit_window = std::chrono::microseconds(window_us);
    std::string backend;
    r.string("backend", backend);
    if (backend == "sqlite") {
      config.storage.backend = StorageBackend::kSqlite;
    } else if (backend == "postgres") {
      config.storage.backend = StorageBackend::kPostgres;
    } else if (!backend.empty()) {
      throw ConfigError(fmt::format("storage.backend: '{}' is not 'sqlite' or 'postgres'", backend));
    }
    r.string("postgres_url", config.storage.postgres_url);
    r.integer("postgres_pool_size", config.storage.postgres_pool_size, 1, 1000);
    r.finish();
  }
  if (const toml::table* tls = top.table("tls")) {
    TableReader r(*tls, "tls.");
    std::string cert_file;
    std::string key_file;
    r.string("cert_file", cert_file);
    r.string("key_file", key_file);
    if (!cert_file.empty()) config.tls.cert_file = cert_file;
    if (!key_file.empty()) config.tls.key_file = key_file;
    std::string min_version;
    r.string("min_version", min_version);
    if (min_version == "1.2") {
      config.tls.min_version = TlsVersion::kTls12;
    } else if (min_version == "1.3") {
      config.tls.min_version = TlsVersion::kTls13;
    } else if (!min_version.empty()) {
      throw ConfigError(fmt::format("tls.min_version: '{}' is not '1.2' or '1.3'", min_version));
    }
    r.seconds("handshake_timeout_seconds", config.tls.handshake_timeout, 1, 300);
    r.seconds("hsts_max_age_seconds", config.tls.hsts_max_age, 0, 2LL * 365 * 24 * 3600);
    r.finish();
  }
  if (const toml::table* media = top.table("media")) {
    TableReader r(*media, "media.");
    auto& m = config.media;
    r.integer("max_upload_bytes", m.max_upload_bytes, 1, 1LL << 40);
    r.integer("quota_bytes", m.quota_bytes, 0, 1LL << 50);
    r.integer("max_open_uploads", m.max_open_uploads, 1, 10'000);
    r.seconds("upload_expiry_seconds", m.upload_expiry, 1, 365LL * 24 * 3600);
    r.seconds("orphan_grace_seconds", m.orphan_grace, 1, 365LL * 24 * 3600);
    r.seconds("sweep_interval_seconds", m.sweep_interval, 1, 24 * 3600);
    r.integer("thumbnail_workers", m.thumbnail_workers, 1, 256);
    r.integer("thumbnail_queue", m.thumbnail_queue, 1, 100'000);
    r.integer("max_image_pixels", m.max_image_pixels, 1, 1LL << 40);
    r.finish();
  }
  if (const toml::table* exports = top.table("export")) {
    TableReader r(*exports, "export.");
    r.seconds("expiry_seconds", config.data_export.expiry, 1, 365LL * 24 * 3600);
    r.seconds("min_interval_seconds", config.data_export.min_interval, 0, 365LL * 24 * 3600);
    r.seconds("sweep_interval_seconds", config.data_export.sweep_interval, 1, 24 * 3600);
    r.finish();
  }
  if (const toml::table* push = top.table("push")) {
    TableReader r(*push, "push.");
    auto& p = config.push;
    r.boolean("enabled", p.enabled);
    r.string("subject", p.subject);
    if (!p.subject.empty() && !p.subject.starts_with("mailto:") && !p.subject.starts_with("https://")) {
      throw ConfigError("push.subject: must start with 'mailto:' or 'https://'");
    }
    std::string ca_file;
    r.string("ca_file", ca_file);
    if (!ca_file.empty()) p.ca_file = ca_file;
    r.boolean("allow_private_endpoints", p.allow_private_endpoints);
    r.integer("max_subscriptions_per_user", p.max_subscriptions_per_user, 1, 1000);
    r.integer("queue_limit", p.queue_limit, 1, 1'000'000);
    r.integer("max_attempts", p.max_attempts, 1, 20);
    r.seconds("retry_initial_seconds", p.retry_initial, 1, 3600);
    r.seconds("retry_max_seconds", p.retry_max, 1, 24 * 3600);
    r.seconds("request_timeout_seconds", p.request_timeout, 1, 300);
    r.seconds("ttl_seconds", p.ttl, 0, 28LL * 24 * 3600);
    r.finish();
  }
  if (const toml::table* cluster = top.table("cluster")) {
    TableReader r(*cluster, "cluster.");
    auto& c = config.cluster;
    r.string("redis_url", c.redis_url);
    r.string("node_id", c.node_id);
    if (c.node_id.size() > 64 ||
        c.node_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
            std::string::npos) {
      throw ConfigError("cluster.node_id: at most 64 letters, digits and . _ : -");
    }
    auto millis = [&](std::string_view key, std::chrono::milliseconds& out, std::int64_t min, std::int64_t max) {
      std::int64_t value = out.count();
      r.integer(key, value, min, max);
      out = std::chrono::milliseconds(value);
    };
    millis("heartbeat_interval_ms", c.heartbeat_interval, 100, 60'000);
    millis("node_timeout_ms", c.node_timeout, 500, 600'000);
    millis("gap_wait_ms", c.gap_wait, 1, 10'000);
    millis("poll_interval_ms", c.poll_interval, 10, 60'000);
    millis("idle_poll_interval_ms", c.idle_poll_interval, 10, 600'000);
    millis("redis_timeout_ms", c.redis_timeout, 10, 60'000);
    r.integer("publish_queue", c.publish_queue, 1, 10'000'000);
    r.integer("delivery_backlog", c.delivery_backlog, 0, 100'000'000);
    millis("intake_hold_max_ms", c.intake_hold_max, 1, 60'000);
    r.finish();
  }
  if (const toml::table* stickers = top.table("stickers")) {
    TableReader r(*stickers, "stickers.");
    r.boolean("install_default_pack", config.stickers.install_default_pack);
    r.finish();
  }
  if (const toml::table* web = top.table("web")) {
    TableReader r(*web, "web.");
    std::string web_root;
    r.string("root", web_root);
    if (!web_root.empty()) config.web.root = web_root;
    r.finish();
  }
  top.finish();
}

void apply_environment(Config& config, const EnvLookup& env) {
  if (auto v = env("PARLEY_LISTEN")) apply_listen(config, *v);
  if (auto v = env("PARLEY_DATA_DIR")) {
    if (v->empty()) throw ConfigError("PARLEY_DATA_DIR is empty");
    config.data_dir = *v;
  }
  if (auto v = env("PARLEY_THREADS")) {
    auto threads = parse_integer(*v, "PARLEY_THREADS");
    if (threads < 0 || threads > 1024) throw ConfigError("PARLEY_THREADS: out of range [0, 1024]");
    config.threads = static_cast<unsigned>(threads);
  }
  if (auto v = env("PARLEY_LOG_LEVEL")) apply_log_level(config, *v);
  if (auto v = env("PARLEY_WEB_ROOT")) config.web.root = *v;
  // The database's address often carries a secret: from the environment, it
  // stays out of config files.
  if (auto v = env("PARLEY_POSTGRES_URL")) config.storage.postgres_url = *v;
}

void validate(const Config& config) {
  if (config.storage.backend == StorageBackend::kPostgres && config.storage.postgres_url.empty()) {
    throw ConfigError("storage.postgres_url: required with storage.backend = \"postgres\"");
  }
  if (config.auth.password_memory_bytes < kMinPasswordMemory) {
    throw ConfigError(fmt::format("auth.password_memory_kib: {} is below the minimum of {} KiB",
                                  config.auth.password_memory_bytes / 1024, kMinPasswordMemory / 1024));
  }
  if (config.auth.password_passes < kMinPasswordPasses) {
    throw ConfigError(fmt::format("auth.password_passes: {} is below the minimum of {}",
                                  config.auth.password_passes, kMinPasswordPasses));
  }
  if (config.auth.login_delay_max < config.auth.login_delay_base) {
    throw ConfigError("auth.login_delay_max_seconds: must be at least login_delay_base_seconds");
  }
  (void)http::TrustedProxies::parse(config.http.trusted_proxies);  // throws on a bad entry
  (void)http::parse_forwarded_header(config.http.forwarded_header);
  if (config.data_dir.empty()) throw ConfigError("data_dir is empty");
  if (config.cluster.enabled() && config.storage.backend != StorageBackend::kPostgres) {
    // Several nodes share one database; SQLite is one process's file
    // (docs/deploy.md). Refused rather than run as nodes that never see
    // each other's writes.
    throw ConfigError(
        "cluster.redis_url: cluster mode needs the PostgreSQL storage backend; the SQLite backend serves one node "
        "only (remove [cluster] or use PostgreSQL)");
  }
  if (config.cluster.node_timeout <= 2 * config.cluster.heartbeat_interval) {
    throw ConfigError("cluster.node_timeout_ms: must be more than twice heartbeat_interval_ms");
  }
  // A user's budget covers all of its sessions: one smaller than a single
  // session's would make the session's setting meaningless.
  const auto& ws = config.websocket;
  if (ws.user_frames_per_second < ws.frames_per_second || ws.user_frame_burst < ws.frame_burst) {
    throw ConfigError(fmt::format(
        "websocket.user_frames_per_second ({}) and user_frame_burst ({}) must be at least frames_per_second ({}) "
        "and frame_burst ({})",
        ws.user_frames_per_second, ws.user_frame_burst, ws.frames_per_second, ws.frame_burst));
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    throw ConfigError("tls.cert_file and tls.key_file must be set together");
  }
  // A quota below one file's limit would refuse files that the limit allows.
  if (config.media.quota_bytes != 0 && config.media.quota_bytes < config.media.max_upload_bytes) {
    throw ConfigError(fmt::format("media.quota_bytes ({}) must be 0 or at least media.max_upload_bytes ({})",
                                  config.media.quota_bytes, config.media.max_upload_bytes));
  }
}

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace parley
