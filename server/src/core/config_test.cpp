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
    [auth]
    password_memory_kib = 32768
    login_failures_per_user = 3
    [storage]
    sqlite_synchronous = "normal"
  )", "test.toml");
  EXPECT_EQ(config.listen_host, "0.0.0.0");
  EXPECT_EQ(config.listen_port, 9000);
  EXPECT_EQ(config.data_dir, "/var/lib/parley");
  EXPECT_EQ(config.threads, 4U);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.http.max_body_bytes, 2048U);
  EXPECT_EQ(config.http.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.auth.password_memory_bytes, 32768U * 1024);
  EXPECT_EQ(config.auth.login_failures_per_user, 3U);
  EXPECT_EQ(config.storage.sqlite_synchronous, SqliteSynchronous::kNormal);
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
  EXPECT_THROW(apply_toml(config, "this is not toml", "t"), ConfigError);
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

}  // namespace
}  // namespace parley
