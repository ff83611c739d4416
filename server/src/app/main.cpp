// parleyd: the Parley chat server.
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "app/server_app.hpp"
#include "core/config.hpp"
#include "core/log.hpp"

namespace {

// Builds the configuration from defaults, file, environment and flags, in
// that order of precedence (see core/config.hpp).
parley::Config load_config(const std::string& config_file, const std::string& listen,
                           const std::string& data_dir, const std::optional<unsigned>& threads,
                           const std::string& log_level) {
  parley::Config config;
  std::string file = config_file;
  auto env = parley::process_environment();
  if (file.empty()) file = env("PARLEY_CONFIG").value_or("");
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw parley::ConfigError("cannot read config file " + file);
    std::stringstream text;
    text << in.rdbuf();
    parley::apply_toml(config, text.str(), file);
  }
  parley::apply_environment(config, env);
  if (!listen.empty()) parley::apply_listen(config, listen);
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (threads) config.threads = *threads;
  if (!log_level.empty()) parley::apply_log_level(config, log_level);
  parley::validate(config);
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"parleyd: the Parley chat server"};
  std::string config_file, listen, data_dir, log_level;
  std::optional<unsigned> threads;
  bool print_routes = false;
  cli.add_option("-c,--config", config_file, "TOML configuration file (or PARLEY_CONFIG)");
  cli.add_option("-l,--listen", listen, "HOST:PORT to listen on (or PARLEY_LISTEN; default 127.0.0.1:8080)");
  cli.add_option("-d,--data-dir", data_dir, "folder for the database and media (or PARLEY_DATA_DIR; default ./data)");
  cli.add_option("-t,--threads", threads, "I/O threads, 0 = one per core but one, left to the database writer (or PARLEY_THREADS)");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off (or PARLEY_LOG_LEVEL)");
  cli.add_flag("--print-routes", print_routes, "print every HTTP route and exit");
  CLI11_PARSE(cli, argc, argv);

  try {
    parley::Config config = load_config(config_file, listen, data_dir, threads, log_level);
    parley::log::init(print_routes ? "warn" : config.log_level);
    parley::app::ServerApp app(std::move(config));
    if (print_routes) {
      for (const auto& route : app.route_list()) std::cout << route << '\n';
      return 0;
    }
    return app.run();
  } catch (const parley::ConfigError& e) {
    std::cerr << "parleyd: configuration error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "parleyd: " << e.what() << '\n';
    return 1;
  }
}
