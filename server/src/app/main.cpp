// parleyd: the Parley chat server.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/server_app.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "media/sticker_pack.hpp"
#include "stickers/sticker_import.hpp"
#include "storage/backup.hpp"
#include "storage/blob_store.hpp"
#include "storage/open_store.hpp"
#include "storage/postgres/migrate_to_postgres.hpp"

namespace {

// Builds the configuration from defaults, file, environment and flags, in
// that order of precedence (see core/config.hpp).
parley::Config load_config(const std::string& config_file, const std::string& listen,
                           const std::string& data_dir, const std::optional<unsigned>& threads,
                           const std::string& log_level, const std::string& web_root) {
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
  if (!web_root.empty()) config.web.root = web_root;
  parley::validate(config);
  return config;
}

// `parleyd stickers ...`: manages the installed sticker packs in the data
// folder. It may run while the server runs: SQLite serialises the writes, and
// the server reads packs from the database on every request, so it sees an
// import or a removal at once.
int run_stickers(const parley::Config& config, const std::string& action, const std::string& argument) {
  std::filesystem::create_directories(config.data_dir);
  auto opened = parley::storage::open_store(config.storage, config.data_dir);
  auto& store = *opened.store;
  if (action == "list") {
    auto packs = store.read([](parley::storage::Transaction& tx) { return tx.sticker_packs(); });
    for (const auto& summary : packs) {
      std::cout << summary.pack.name << '\t' << summary.count << " stickers\t" << summary.pack.title << '\n';
    }
    return 0;
  }
  if (action == "remove") {
    bool removed = store.write_blocking([&](parley::storage::Transaction& tx) {
      return tx.remove_sticker_pack(argument, parley::now_millis());
    });
    if (!removed) {
      std::cerr << "parleyd: no installed sticker pack named '" << argument << "'\n";
      return 1;
    }
    std::cout << "removed sticker pack " << argument << '\n';
    return 0;
  }
  // The blob store's staging folder is not cleaned here: the running server
  // may be writing there.
  auto blobs = parley::storage::make_local_blob_store(config.data_dir / "media");
  try {
    auto result = parley::stickers::import_sticker_pack(store, *blobs, argument);
    std::cout << (result.updated ? "updated" : "imported") << " sticker pack " << result.pack.name << " ("
              << result.stickers << " stickers)\n";
    return 0;
  } catch (const parley::media::StickerPackError& e) {
    std::cerr << "parleyd: invalid sticker pack: " << e.what() << '\n';
    return 1;
  }
}

// `parleyd backup DEST` and `parleyd restore SRC` (storage/backup.hpp).
// Backup runs beside the serving server; restore wants an empty data folder.
int run_backup(const parley::Config& config, bool restore, const std::string& folder) {
  try {
    if (restore) {
      auto summary = parley::storage::restore_data_dir(folder, config.data_dir);
      std::cout << "restored " << folder << " into " << config.data_dir.string() << ": database "
                << summary.database_bytes << " bytes (schema " << summary.schema_version << "), " << summary.blob_count
                << " blobs (" << summary.blob_bytes << " bytes), integrity_check ok\n";
      return 0;
    }
    auto summary = parley::storage::backup_data_dir(config.data_dir, folder);
    double mib = static_cast<double>(summary.database_bytes + summary.blob_bytes) / (1024.0 * 1024.0);
    std::cout << fmt::format(
        "backup complete in {}: database {} bytes (schema {}, snapshot {:.2f} s), {} blobs ({} bytes), "
        "{:.1f} MiB in {:.2f} s ({:.1f} MiB/s)\n",
        folder, summary.database_bytes, summary.schema_version, summary.snapshot_seconds, summary.blob_count,
        summary.blob_bytes, mib, summary.total_seconds, summary.total_seconds > 0 ? mib / summary.total_seconds : 0.0);
    return 0;
  } catch (const parley::storage::BackupError& e) {
    std::cerr << "parleyd: " << (restore ? "restore" : "backup") << " failed: " << e.what() << '\n';
    return 1;
  }
}

// `parleyd migrate-to-postgres`: copies the data folder's SQLite database
// into the empty PostgreSQL database of storage.postgres_url. Run it with
// the server stopped; then set storage.backend = "postgres".
int run_migrate_to_postgres(const parley::Config& config) {
  if (config.storage.postgres_url.empty()) {
    std::cerr << "parleyd: migrate-to-postgres needs storage.postgres_url (or PARLEY_POSTGRES_URL)\n";
    return 2;
  }
  try {
    auto summary = parley::storage::postgres::migrate_sqlite_to_postgres(config.data_dir / "parley.db",
                                                                          config.storage.postgres_url);
    std::int64_t rows = 0;
    for (const auto& [table, count] : summary.tables) {
      std::cout << table << '\t' << count << '\n';
      rows += count;
    }
    std::cout << fmt::format("copied {} rows in {} tables, counts verified; stream position {}\n", rows,
                             summary.tables.size(), summary.position);
    std::cout << "now set [storage] backend = \"postgres\" and start parleyd\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "parleyd: migrate-to-postgres failed, nothing was kept: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Files are sent with sendfile(2), which has no MSG_NOSIGNAL: to a client
  // that has gone away it raises SIGPIPE, whose default action would end the
  // server. Ignored, the call fails with EPIPE and only that connection ends.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App cli{"parleyd: the Parley chat server"};
  std::string config_file, listen, data_dir, log_level, web_root;
  std::optional<unsigned> threads;
  bool print_routes = false;
  cli.add_option("-c,--config", config_file, "TOML configuration file (or PARLEY_CONFIG)");
  cli.add_option("-l,--listen", listen, "HOST:PORT to listen on (or PARLEY_LISTEN; default 127.0.0.1:8080)");
  cli.add_option("-d,--data-dir", data_dir, "folder for the database and media (or PARLEY_DATA_DIR; default ./data)");
  cli.add_option("-t,--threads", threads, "I/O threads, 0 = one per core but one, left to the database writer (or PARLEY_THREADS)");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off (or PARLEY_LOG_LEVEL)");
  cli.add_option("--web-root", web_root, "folder of the built web app, served at / (or PARLEY_WEB_ROOT; default none)");
  cli.add_flag("--print-routes", print_routes, "print every HTTP route and exit");
  // parleyd stickers import DIR | list | remove NAME
  std::string sticker_argument;
  auto* stickers = cli.add_subcommand("stickers", "manage the installed sticker packs (see server/stickers/README.md)");
  stickers->require_subcommand(1);
  auto* import = stickers->add_subcommand("import", "import (or update in place) the sticker pack in folder DIR");
  import->add_option("DIR", sticker_argument, "a pack folder: pack.toml and its images")->required();
  stickers->add_subcommand("list", "list the installed sticker packs");
  auto* remove = stickers->add_subcommand("remove", "remove the installed sticker pack NAME");
  remove->add_option("NAME", sticker_argument, "the pack's name")->required();
  // parleyd backup DEST | restore SRC
  std::string backup_folder;
  auto* backup = cli.add_subcommand("backup", "online backup of the database and media into DEST (server may run)");
  backup->add_option("DEST", backup_folder, "a folder that does not exist or is empty")->required();
  auto* restore = cli.add_subcommand("restore", "restore the backup in SRC into the empty --data-dir");
  restore->add_option("SRC", backup_folder, "a folder written by parleyd backup")->required();
  auto* to_postgres = cli.add_subcommand(
      "migrate-to-postgres", "copy the data folder's SQLite database into the empty PostgreSQL storage.postgres_url");
  CLI11_PARSE(cli, argc, argv);

  try {
    parley::Config config = load_config(config_file, listen, data_dir, threads, log_level, web_root);
    if (stickers->parsed()) {
      parley::log::init("warn");
      std::string action = import->parsed() ? "import" : remove->parsed() ? "remove" : "list";
      return run_stickers(config, action, sticker_argument);
    }
    if (to_postgres->parsed()) {
      parley::log::init("warn");
      return run_migrate_to_postgres(config);
    }
    if (backup->parsed() || restore->parsed()) {
      parley::log::init("warn");
      return run_backup(config, restore->parsed(), backup_folder);
    }
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
