#include "core/config.hpp"

#include <gtest/gtest.h>

namespace parley {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ConfigTest, DefaultsAreValidAndLoopback) {
  Config config;
  EXPECT_NO_THROW(validate(config));
  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 8080);
  EXPECT_EQ(config.storage.sqlite_synchronous, SqliteSynchronous::kFull);
  EXPECT_EQ(config.storage.search_purge_interval, std::chrono::seconds(60));
  EXPECT_EQ(config.storage.group_commit_window, std::chrono::microseconds(1000));
}

TEST(ConfigTest, TomlSetsEveryKnownSection) {
  Config config;
  apply_toml(config, R"(
    listen = "0.0.0.0:9000"
    data_dir = "/var/lib/parley"
    threads = 4
    log_level = "debug"
    [http]
    max_body_bytes = 2048
    read_timeout_seconds = 5
    trusted_proxies = ["10.0.0.0/8", "::1"]
    forwarded_header = "Forwarded"
    [auth]
    password_memory_kib = 32768
    login_failures_per_pair = 3
    login_failures_per_account = 40
    login_delay_base_seconds = 2
    login_delay_max_seconds = 60
    login_throttle_max_entries = 1000
    [storage]
    sqlite_synchronous = "normal"
    search_purge_interval_seconds = 5
    group_commit_window_us = 250
  )", "test.toml");
  EXPECT_EQ(config.listen_host, "0.0.0.0");
  EXPECT_EQ(config.listen_port, 9000);
  EXPECT_EQ(config.data_dir, "/var/lib/parley");
  EXPECT_EQ(config.threads, 4U);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.http.max_body_bytes, 2048U);
  EXPECT_EQ(config.http.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.auth.password_memory_bytes, 32768U * 1024);
  EXPECT_EQ(config.http.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  EXPECT_EQ(config.http.forwarded_header, "Forwarded");
  EXPECT_EQ(config.auth.login_failures_per_pair, 3U);
  EXPECT_EQ(config.auth.login_failures_per_account, 40U);
  EXPECT_EQ(config.auth.login_delay_base, std::chrono::seconds(2));
  EXPECT_EQ(config.auth.login_delay_max, std::chrono::seconds(60));
  EXPECT_EQ(config.auth.login_throttle_max_entries, 1000U);
  EXPECT_NO_THROW(validate(config));
  EXPECT_EQ(config.storage.sqlite_synchronous, SqliteSynchronous::kNormal);
  EXPECT_EQ(config.storage.search_purge_interval, std::chrono::seconds(5));
  EXPECT_EQ(config.storage.group_commit_window, std::chrono::microseconds(250));
}

TEST(ConfigTest, AccountsSection) {
  Config config;
  EXPECT_EQ(config.accounts.deleted_username_reserve, std::chrono::seconds(30LL * 24 * 3600));
  apply_toml(config, "[accounts]\ndeleted_username_reserve_seconds = 60\n", "t");
  EXPECT_EQ(config.accounts.deleted_username_reserve, std::chrono::seconds(60));
  EXPECT_THROW(apply_toml(config, "[accounts]\ndeleted_username_reserve_seconds = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[accounts]\nreserve = 1\n", "t"), ConfigError);
}

TEST(ConfigTest, ExportSection) {
  Config config;
  EXPECT_EQ(config.data_export.expiry, std::chrono::seconds(7LL * 24 * 3600));
  EXPECT_EQ(config.data_export.min_interval, std::chrono::seconds(24 * 3600));
  apply_toml(config, "[export]\nexpiry_seconds = 5\nmin_interval_seconds = 0\nsweep_interval_seconds = 2\n", "t");
  EXPECT_EQ(config.data_export.expiry, std::chrono::seconds(5));
  EXPECT_EQ(config.data_export.min_interval, std::chrono::seconds(0));
  EXPECT_EQ(config.data_export.sweep_interval, std::chrono::seconds(2));
  EXPECT_THROW(apply_toml(config, "[export]\nexpiry_seconds = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[export]\nsweep_interval_seconds = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[export]\nmin_interval_seconds = -1\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[export]\nexpiry = 1\n", "t"), ConfigError);
}

TEST(ConfigTest, PushSectionIsReadAndValidated) {
  Config config;
  EXPECT_TRUE(config.push.enabled);
  EXPECT_FALSE(config.push.allow_private_endpoints) << "SSRF protection on by default";
  EXPECT_EQ(config.push.ttl, std::chrono::seconds(24 * 3600));
  apply_toml(config,
             "[push]\nenabled = false\nsubject = \"mailto:ops@example.org\"\nca_file = \"/tmp/ca.pem\"\n"
             "allow_private_endpoints = true\nmax_subscriptions_per_user = 3\nqueue_limit = 7\nmax_attempts = 2\n"
             "retry_initial_seconds = 1\nretry_max_seconds = 5\nrequest_timeout_seconds = 4\nttl_seconds = 60\n",
             "t");
  EXPECT_FALSE(config.push.enabled);
  EXPECT_EQ(config.push.subject, "mailto:ops@example.org");
  EXPECT_EQ(config.push.ca_file, "/tmp/ca.pem");
  EXPECT_TRUE(config.push.allow_private_endpoints);
  EXPECT_EQ(config.push.max_subscriptions_per_user, 3U);
  EXPECT_EQ(config.push.queue_limit, 7U);
  EXPECT_EQ(config.push.max_attempts, 2U);
  EXPECT_EQ(config.push.retry_initial, std::chrono::seconds(1));
  EXPECT_EQ(config.push.retry_max, std::chrono::seconds(5));
  EXPECT_EQ(config.push.request_timeout, std::chrono::seconds(4));
  EXPECT_EQ(config.push.ttl, std::chrono::seconds(60));
  apply_toml(config, "[push]\nsubject = \"https://example.org/contact\"\n", "t");
  EXPECT_THROW(apply_toml(config, "[push]\nsubject = \"ops@example.org\"\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[push]\nmax_attempts = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[push]\nqueue_limit = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[push]\nendpoint = 1\n", "t"), ConfigError);
}

TEST(ConfigTest, UnknownKeysAreErrorsAtEveryLevel) {
  Config config;
  EXPECT_THROW(apply_toml(config, "lissen = \"1.2.3.4:1\"", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[http]\nmax_body = 1", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[nonsense]\n", "t"), ConfigError);
}

TEST(ConfigTest, WrongTypesAndRangesAreErrors) {
  Config config;
  EXPECT_THROW(apply_toml(config, "threads = \"two\"", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "threads = -1", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[http]\nmax_body_bytes = 1", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "log_level = \"loud\"", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[storage]\nsqlite_synchronous = \"off\"", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[storage]\nsearch_purge_interval_seconds = -1", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[storage]\ngroup_commit_window_us = 100001", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "this is not toml", "t"), ConfigError);
}

TEST(ConfigTest, TrustedProxiesAndThrottleKeysAreValidated) {
  Config config;
  config.http.trusted_proxies = {"10.0.0.0/8", "not-an-address"};
  EXPECT_THROW(validate(config), ConfigError);
  config.http.trusted_proxies = {"10.0.0.1/8"};  // host bits: a typo must not widen trust
  EXPECT_THROW(validate(config), ConfigError);
  config.http.trusted_proxies = {};
  config.http.forwarded_header = "X-Real-IP";
  EXPECT_THROW(validate(config), ConfigError);
  config.http.forwarded_header = "x-forwarded-for";
  config.auth.login_delay_max = std::chrono::seconds(1);
  config.auth.login_delay_base = std::chrono::seconds(2);
  EXPECT_THROW(validate(config), ConfigError);
  // The old key's meaning changed; it is refused with a pointer to its successors.
  EXPECT_THROW(apply_toml(config, "[auth]\nlogin_failures_per_user = 5", "t"), ConfigError);
}

// Found by fuzz_config: reading a float as an integer overflowed inside
// toml++ (undefined behaviour, reported by clang's UBSan in the fuzz build;
// tests/fuzz/corpus/fuzz_config/float_for_integer replays it there).
TEST(ConfigTest, FloatsWhereIntegersBelongAreTypeErrors) {
  for (const char* text : {"threads = 99999999E99", "threads = 2.0", "threads = inf", "threads = nan",
                           "[http]\nmax_body_bytes = -1e300"}) {
    Config config;
    try {
      apply_toml(config, text, "t");
      ADD_FAILURE() << text << " was accepted";
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("expected an integer"), std::string::npos)
          << text << ": " << error.what();
    }
  }
}

TEST(ConfigTest, PasswordCostBelowOwaspMinimumIsRejected) {
  Config config;
  config.auth.password_memory_bytes = 18 * 1024 * 1024;
  EXPECT_THROW(validate(config), ConfigError);
  config.auth.password_memory_bytes = 19 * 1024 * 1024;
  config.auth.password_passes = 1;
  EXPECT_THROW(validate(config), ConfigError);
  config.auth.password_passes = 2;
  EXPECT_NO_THROW(validate(config));
}

TEST(ConfigTest, WebSocketCapsAndTheUserBudgetNotBelowTheSessions) {
  Config config;
  apply_toml(config,
             "[websocket]\nmax_connections_per_user = 5\nmax_connections_per_address = 0\n"
             "user_frames_per_second = 60\nuser_frame_burst = 300\n",
             "t");
  EXPECT_EQ(config.websocket.max_connections_per_user, 5U);
  EXPECT_EQ(config.websocket.max_connections_per_address, 0U) << "0 = no cap";
  EXPECT_EQ(config.websocket.user_frames_per_second, 60U);
  EXPECT_NO_THROW(validate(config));
  EXPECT_THROW(apply_toml(config, "[websocket]\nmax_connections_per_user = 0\n", "t"), ConfigError);
  config.websocket.user_frame_burst = config.websocket.frame_burst - 1;
  EXPECT_THROW(validate(config), ConfigError) << "a user's budget below one session's";
}

TEST(ConfigTest, EnvironmentOverridesFileAndParsesListen) {
  Config config;
  apply_toml(config, "listen = \"127.0.0.1:1111\"\ndata_dir = \"from-file\"", "t");
  apply_environment(config, env_of({{"PARLEY_LISTEN", "[::1]:2222"}, {"PARLEY_DATA_DIR", "from-env"},
                                    {"PARLEY_THREADS", "3"}}));
  EXPECT_EQ(config.listen_host, "::1");
  EXPECT_EQ(config.listen_port, 2222);
  EXPECT_EQ(config.data_dir, "from-env");
  EXPECT_EQ(config.threads, 3U);
  EXPECT_THROW(apply_environment(config, env_of({{"PARLEY_THREADS", "many"}})), ConfigError);
  EXPECT_THROW(apply_listen(config, "no-port"), ConfigError);
  EXPECT_THROW(apply_listen(config, "host:70000"), ConfigError);
}

TEST(ConfigTest, WebRootComesFromFileThenEnvironment) {
  Config config;
  EXPECT_TRUE(config.web.root.empty()) << "no web app unless asked for";
  apply_toml(config, "[web]\nroot = \"site/dist\"\n", "t");
  EXPECT_EQ(config.web.root, "site/dist");
  apply_environment(config, env_of({{"PARLEY_WEB_ROOT", "/srv/parley/web"}}));
  EXPECT_EQ(config.web.root, "/srv/parley/web");
  EXPECT_THROW(apply_toml(config, "[web]\nroute = \"x\"\n", "t"), ConfigError) << "a typo is an error";
}

TEST(ConfigTest, TlsSectionIsReadAndValidated) {
  Config config;
  EXPECT_FALSE(config.tls.enabled());
  apply_toml(config, R"(
    [tls]
    cert_file = "/etc/parley/cert.pem"
    key_file = "/etc/parley/key.pem"
    min_version = "1.3"
    handshake_timeout_seconds = 5
    hsts_max_age_seconds = 0
  )", "t");
  EXPECT_TRUE(config.tls.enabled());
  EXPECT_EQ(config.tls.cert_file, "/etc/parley/cert.pem");
  EXPECT_EQ(config.tls.key_file, "/etc/parley/key.pem");
  EXPECT_EQ(config.tls.min_version, TlsVersion::kTls13);
  EXPECT_EQ(config.tls.handshake_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.tls.hsts_max_age, std::chrono::seconds(0));
  EXPECT_NO_THROW(validate(config));

  EXPECT_THROW(apply_toml(config, "[tls]\nmin_version = \"1.1\"", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[tls]\nhandshake_timeout_seconds = 0", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[tls]\ncert = \"x\"", "t"), ConfigError);

  Config half;
  apply_toml(half, "[tls]\ncert_file = \"/etc/parley/cert.pem\"", "t");
  EXPECT_THROW(validate(half), ConfigError);  // a key without a certificate, or the reverse
}

TEST(ConfigTest, StickersSectionSaysWhetherTheDefaultPackIsInstalled) {
  Config config;
  EXPECT_TRUE(config.stickers.install_default_pack);
  apply_toml(config, "[stickers]\ninstall_default_pack = false", "t");
  EXPECT_FALSE(config.stickers.install_default_pack);
  EXPECT_THROW(apply_toml(config, "[stickers]\ninstall_default_pack = 1", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[stickers]\ninstall_default_pack = \"yes\"", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[stickers]\ndefault = true", "t"), ConfigError);
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

TEST(ConfigTest, MediaSectionIsReadAndValidated) {
  Config config;
  apply_toml(config,
             "[media]\nmax_upload_bytes = 1048576\nquota_bytes = 2097152\nmax_open_uploads = 3\n"
             "upload_expiry_seconds = 60\norphan_grace_seconds = 120\nsweep_interval_seconds = 5\n"
             "thumbnail_workers = 2\nthumbnail_queue = 8\nmax_image_pixels = 1000000\n",
             "t");
  EXPECT_EQ(config.media.max_upload_bytes, 1048576U);
  EXPECT_EQ(config.media.quota_bytes, 2097152U);
  EXPECT_EQ(config.media.max_open_uploads, 3U);
  EXPECT_EQ(config.media.upload_expiry, std::chrono::seconds(60));
  EXPECT_EQ(config.media.orphan_grace, std::chrono::seconds(120));
  EXPECT_EQ(config.media.sweep_interval, std::chrono::seconds(5));
  EXPECT_EQ(config.media.thumbnail_workers, 2U);
  EXPECT_EQ(config.media.thumbnail_queue, 8U);
  EXPECT_EQ(config.media.max_image_pixels, 1000000U);
  EXPECT_NO_THROW(validate(config));
  // A quota smaller than one file's limit would refuse files the limit allows.
  config.media.quota_bytes = 1000;
  EXPECT_THROW(validate(config), ConfigError);
  config.media.quota_bytes = 0;  // no quota
  EXPECT_NO_THROW(validate(config));
  EXPECT_THROW(apply_toml(config, "[media]\nmax_upload_bytes = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[media]\nthumbnail_workers = 0\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[media]\nquota = 5\n", "t"), ConfigError);
}

TEST(ConfigTest, StorageBackendIsSqliteOrPostgresWithAUrl) {
  Config config;
  EXPECT_EQ(config.storage.backend, StorageBackend::kSqlite);
  EXPECT_EQ(config.storage.postgres_pool_size, 8U);
  apply_toml(config,
             "[storage]\nbackend = \"postgres\"\npostgres_url = \"host=db dbname=parley\"\npostgres_pool_size = 3\n",
             "t");
  EXPECT_EQ(config.storage.backend, StorageBackend::kPostgres);
  EXPECT_EQ(config.storage.postgres_url, "host=db dbname=parley");
  EXPECT_EQ(config.storage.postgres_pool_size, 3U);
  EXPECT_NO_THROW(validate(config));
  // The address from the environment wins (it may carry a password).
  apply_environment(config, env_of({{"PARLEY_POSTGRES_URL", "postgresql://parley@db2/parley"}}));
  EXPECT_EQ(config.storage.postgres_url, "postgresql://parley@db2/parley");
  // PostgreSQL without an address is refused at start-up, with the key named.
  config.storage.postgres_url.clear();
  try {
    validate(config);
    FAIL() << "accepted postgres without postgres_url";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("storage.postgres_url"), std::string::npos) << e.what();
  }
  EXPECT_THROW(apply_toml(config, "[storage]\nbackend = \"mysql\"\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[storage]\npostgres_pool_size = 0\n", "t"), ConfigError);
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

TEST(ConfigTest, ClusterSectionIsReadAndRefusedOnSqlite) {
  Config config;
  EXPECT_FALSE(config.cluster.enabled());
  EXPECT_NO_THROW(validate(config));
  apply_toml(config,
             "[cluster]\nredis_url = \"redis://127.0.0.1:6379\"\nnode_id = \"node-1\"\nheartbeat_interval_ms = 500\n"
             "node_timeout_ms = 3000\ngap_wait_ms = 50\npoll_interval_ms = 100\n",
             "t");
  EXPECT_EQ(config.cluster.node_id, "node-1");
  EXPECT_EQ(config.cluster.heartbeat_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(config.cluster.node_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(config.cluster.gap_wait, std::chrono::milliseconds(50));
  EXPECT_TRUE(config.cluster.enabled());
  // The only backend today is SQLite: cluster mode is refused, saying why.
  try {
    validate(config);
    ADD_FAILURE() << "cluster mode on SQLite was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("PostgreSQL"), std::string::npos) << e.what();
  }
  EXPECT_THROW(apply_toml(config, "[cluster]\nnode_id = \"a b\"\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[cluster]\nnode_timeout_ms = 1\n", "t"), ConfigError);
  EXPECT_THROW(apply_toml(config, "[cluster]\nredis = \"x\"\n", "t"), ConfigError);
  Config timing;
  apply_toml(timing, "[cluster]\nheartbeat_interval_ms = 5000\nnode_timeout_ms = 6000\n", "t");
  EXPECT_THROW(validate(timing), ConfigError);
}

}  // namespace
}  // namespace parley
