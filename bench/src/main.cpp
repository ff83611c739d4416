// parley-bench: a load generator that speaks Parley's chat protocol.
//
//   parley-bench --server http://127.0.0.1:8080 --server-pid PID --scenario pairs
//                --connections 200 --rate 2000 --duration 10 --json out.json
//   parley-bench compare --a parleyd.json --b node.json
//   parley-bench media --server URL --target /api/v1/media/ID --token T   (HTTP file transfers)
//
// A run: plan the scenario's users and conversations, create them over REST,
// open the WebSocket connections (in --processes worker processes), send on
// an open-loop schedule, measure, drain, report. See bench/README.md.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "load.hpp"
#include "media_load.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "report.hpp"
#include "setup.hpp"
#include "topology.hpp"

namespace parley::bench {
namespace {

using boost::json::object;

std::string random_hex(int digits) {
  std::random_device device;
  std::mt19937_64 rng((static_cast<std::uint64_t>(device()) << 32) ^ device() ^ static_cast<std::uint64_t>(getpid()));
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back("0123456789abcdef"[rng() % 16]);
  return out;
}

// "http://HOST:PORT", "HOST:PORT" or "HOST" (port 8080).
void parse_server(const std::string& url, Options& options) {
  std::string rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) {
    if (rest.substr(0, scheme) != "http") throw std::invalid_argument("--server: only http:// is supported");
    rest = rest.substr(scheme + 3);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    options.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
    rest = rest.substr(0, colon);
  }
  options.host = rest;
}

// "URL[,URL...]": the first is options.host:port, all of them options.servers.
void parse_servers(const std::string& text, Options& options) {
  std::stringstream items(text);
  std::string item;
  options.servers.clear();
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    parse_server(item, options);
    options.servers.push_back(Endpoint{options.host, options.port});
  }
  if (options.servers.empty()) throw std::invalid_argument("--server: no address");
  options.host = options.servers.front().host;
  options.port = options.servers.front().port;
}

// "NAME=DIR": a control group sampled over the window.
CpuGroup parse_cpu_group(const std::string& text) {
  auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    throw std::invalid_argument("--cpu-group: expected NAME=DIR, got " + text);
  }
  CpuGroup group{text.substr(0, equals), text.substr(equals + 1)};
  if (!cgroup_cpu_seconds(group.path)) {
    throw std::invalid_argument("--cpu-group: no cpuacct.usage or cpu.stat in " + group.path);
  }
  return group;
}

// "127.0.0.2-127.0.0.9,127.0.1.1": ranges of IPv4 addresses and single ones.
std::vector<std::string> parse_addresses(const std::string& text) {
  std::vector<std::string> result;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    auto dash = item.find('-');
    if (dash == std::string::npos) {
      result.push_back(boost::asio::ip::make_address_v4(item).to_string());
      continue;
    }
    auto first = boost::asio::ip::make_address_v4(item.substr(0, dash)).to_uint();
    auto last = boost::asio::ip::make_address_v4(item.substr(dash + 1)).to_uint();
    if (last < first || last - first > 65535) throw std::invalid_argument("--source-addresses: bad range " + item);
    for (auto a = first; a <= last; ++a) result.push_back(boost::asio::ip::make_address_v4(a).to_string());
  }
  return result;
}

// Raises the soft limit on open files to the hard one; returns the limit.
rlim_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Clock::time_point from_ns(std::int64_t ns) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// One JSON document per line over a pipe between the parent and a worker.
void write_line(FILE* out, const object& message) {
  std::string line = boost::json::serialize(message) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out) != line.size() || std::fflush(out) != 0) {
    throw std::runtime_error("pipe write failed");
  }
}

object read_line(FILE* in) {
  std::string line;
  for (int c = std::fgetc(in); c != EOF && c != '\n'; c = std::fgetc(in)) line.push_back(static_cast<char>(c));
  if (line.empty()) throw std::runtime_error("a worker process ended early");
  return boost::json::parse(line).as_object();
}

// The times of a run, counted from the moment every connection is open.
Schedule make_schedule(const Options& options) {
  Schedule schedule;
  schedule.t0 = Clock::now() + std::chrono::milliseconds(300);
  schedule.window_start = schedule.t0 + seconds(options.warmup);
  schedule.window_end = schedule.window_start + seconds(options.duration);
  return schedule;
}

// A worker process: opens its share of the connections and follows the
// parent's lead over the pipes. Never returns.
[[noreturn]] void worker_main(const Options& options, const Topology& topology, unsigned k, FILE* in, FILE* out) {
  int code = 0;
  try {
    std::vector<std::uint32_t> mine;
    for (std::uint32_t i = k; i < topology.connections.size(); i += options.processes) mine.push_back(i);
    Worker worker(options, topology, std::move(mine));
    auto connected = worker.connect_all();
    write_line(out, object{{"ready", connected}});
    auto times = read_line(in);
    Schedule schedule{from_ns(times.at("t0").to_number<std::int64_t>()),
                      from_ns(times.at("window_start").to_number<std::int64_t>()),
                      from_ns(times.at("window_end").to_number<std::int64_t>())};
    worker.start(schedule);
    auto window = sample_window(schedule, 0);
    worker.wait_acked(schedule.window_end + seconds(options.drain_timeout));
    write_line(out, object{{"acked", worker.expected_deliveries()}});
    auto drain = read_line(in);
    worker.drain_and_stop(from_ns(drain.at("deadline").to_number<std::int64_t>()), 0);
    auto stats = worker.stats();
    stats.tool_cpu_seconds = window.tool_cpu_seconds;
    write_line(out, object{{"stats", stats.to_json()}});
  } catch (const std::exception& e) {
    std::cerr << fmt::format("parley-bench worker {}: {}\n", k, e.what());
    code = 1;
  }
  std::fflush(nullptr);
  _exit(code);
}

struct Child {
  pid_t pid = -1;
  FILE* to = nullptr;
  FILE* from = nullptr;
};

std::optional<ProcSample> sample_server(const Options& options) {
  if (!options.server_pid) return std::nullopt;
  return sample_process(*options.server_pid);
}

RunResult run_load(const Options& options, const Topology& topology) {
  RunResult result;
  result.server_before = sample_server(options);
  auto connect_start = Clock::now();
  int pid = options.server_pid.value_or(0);
  auto ack_deadline = [&](const Schedule& s) { return s.window_end + seconds(options.drain_timeout); };

  if (options.processes <= 1) {
    std::vector<std::uint32_t> all(topology.connections.size());
    for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    Worker worker(options, topology, std::move(all));
    worker.connect_all();
    result.connect_seconds = std::chrono::duration<double>(Clock::now() - connect_start).count();
    result.server_connected = sample_server(options);
    auto schedule = make_schedule(options);
    worker.start(schedule);
    result.window = sample_window(schedule, pid, options.cpu_groups);
    worker.wait_acked(ack_deadline(schedule));
    worker.drain_and_stop(Clock::now() + seconds(5), worker.expected_deliveries());
    result.stats = worker.stats();
    result.stats.tool_cpu_seconds = result.window.tool_cpu_seconds;
    return result;
  }

  std::vector<Child> children;
  std::fflush(nullptr);
  for (unsigned k = 0; k < options.processes; ++k) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) throw std::runtime_error("pipe failed");
    pid_t child = fork();
    if (child < 0) throw std::runtime_error("fork failed");
    if (child == 0) {
      for (auto& other : children) {
        std::fclose(other.to);
        std::fclose(other.from);
      }
      close(down[1]);
      close(up[0]);
      worker_main(options, topology, k, fdopen(down[0], "r"), fdopen(up[1], "w"));
    }
    close(down[0]);
    close(up[1]);
    children.push_back(Child{child, fdopen(down[1], "w"), fdopen(up[0], "r")});
  }
  try {
    for (auto& child : children) read_line(child.from);
    result.connect_seconds = std::chrono::duration<double>(Clock::now() - connect_start).count();
    result.server_connected = sample_server(options);
    auto schedule = make_schedule(options);
    object times{{"t0", to_ns(schedule.t0)},
                 {"window_start", to_ns(schedule.window_start)},
                 {"window_end", to_ns(schedule.window_end)}};
    for (auto& child : children) write_line(child.to, times);
    result.window = sample_window(schedule, pid, options.cpu_groups);
    for (auto& child : children) read_line(child.from);
    // Every message is acked, so every event is published: what remains is
    // deliveries in flight.
    object drain{{"deadline", to_ns(Clock::now() + seconds(5))}};
    for (auto& child : children) write_line(child.to, drain);
    for (auto& child : children) {
      result.stats.merge(Stats::from_json(read_line(child.from).at("stats")));
    }
  } catch (...) {
    for (auto& child : children) kill(child.pid, SIGKILL);
    for (auto& child : children) waitpid(child.pid, nullptr, 0);
    throw;
  }
  for (auto& child : children) {
    std::fclose(child.to);
    std::fclose(child.from);
    waitpid(child.pid, nullptr, 0);
  }
  return result;
}

int run(Options& options) {
  // Each connection is a descriptor; a process that cannot hold its share
  // would fail with EMFILE halfway. Beyond the limit, more processes.
  constexpr rlim_t kSpareFiles = 256;
  auto files = raise_open_file_limit();
  if (files > kSpareFiles) {
    auto per_process = files - kSpareFiles;
    auto needed = static_cast<unsigned>((options.connections + per_process - 1) / per_process);
    if (needed > options.processes) {
      if (!options.quiet) {
        std::cerr << fmt::format("{} connections need {} processes at {} open files each\n", options.connections,
                                 needed, files);
      }
      options.processes = needed;
    }
  }
  if (options.run_id.empty()) options.run_id = "r" + random_hex(8);
  if (options.users_prefix.empty()) options.users_prefix = "b" + random_hex(6);
  if (options.scenario == Scenario::kIdle) options.rate = 0;
  if (options.label.empty()) options.label = "server";

  Topology topology = plan(options);
  if (!options.quiet) {
    std::cerr << fmt::format("plan: {} {} connections, {} users, {} contact pairs, {} conversations, prefix {}\n",
                             scenario_name(options.scenario), topology.connections.size(), topology.users.size(),
                             topology.contacts.size(), topology.conversations.size(), options.users_prefix);
  }
  RunResult result;
  auto setup = run_setup(options, topology);
  result = run_load(options, topology);
  result.setup = std::move(setup);
  auto report = build_report(options, topology, result);
  std::cout << human_summary(report) << std::flush;
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << boost::json::serialize(report) << '\n';
    if (!out) throw std::runtime_error("cannot write " + options.json_path);
  }
  if (options.check) {
    auto found = problems(report);
    if (!found.empty()) {
      std::cerr << "parley-bench: check failed:";
      for (const auto& p : found) std::cerr << ' ' << p << ';';
      std::cerr << '\n';
      return 3;
    }
  }
  return 0;
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  using namespace parley::bench;
  std::signal(SIGPIPE, SIG_IGN);
  Options options;
  CLI::App cli{"parley-bench: load generator for Parley's chat protocol (see bench/README.md)"};
  cli.require_subcommand(0, 1);

  std::string server = "http://127.0.0.1:8080", scenario = "pairs", sources;
  int server_pid = 0;
  std::vector<std::string> cpu_groups;
  cli.add_option("--server", server,
                 "server to load: http://HOST:PORT, or several separated by commas (connections round robin)")
      ->capture_default_str();
  cli.add_option("--server-pid", server_pid, "its process id, for CPU and RSS from /proc");
  cli.add_option("--cpu-group", cpu_groups,
                 "NAME=DIR: a cgroup whose CPU time is reported over the window (repeatable)");
  cli.add_option("--label", options.label, "the server's name in reports (parleyd, node-ws)");
  cli.add_option("--scenario", scenario, "idle, pairs, group10, group100, churn or mix")->capture_default_str();
  cli.add_option("-n,--connections", options.connections, "WebSocket connections")->capture_default_str();
  cli.add_option("--users", options.users, "accounts (idle only; default min(connections, 100))");
  cli.add_option("--rate", options.rate, "messages per second offered by all senders together")->capture_default_str();
  cli.add_option("--duration", options.duration, "seconds measured")->capture_default_str();
  cli.add_option("--warmup", options.warmup, "seconds of load before measuring")->capture_default_str();
  cli.add_option("--drain-timeout", options.drain_timeout, "seconds to wait for outstanding acks")->capture_default_str();
  cli.add_option("--heartbeat", options.heartbeat, "seconds between ping frames per connection, 0 = none")
      ->capture_default_str();
  cli.add_option("--message-bytes", options.message_bytes, "length of each message's text")->capture_default_str();
  cli.add_flag("--deflate", options.deflate, "offer permessage-deflate, as browsers do");
  cli.add_option("--churn-interval", options.churn_interval, "churn: mean seconds between drops of a connection")
      ->capture_default_str();
  cli.add_option("--churn-downtime", options.churn_downtime, "churn: seconds a dropped connection stays away")
      ->capture_default_str();
  cli.add_option("--typing-fraction", options.typing_fraction, "mix: share of messages preceded by typing")
      ->capture_default_str();
  cli.add_option("--read-interval", options.read_interval, "mix: seconds between read receipts")->capture_default_str();
  cli.add_option("--source-addresses", sources, "local addresses to connect from, e.g. 127.0.0.2-127.0.0.9");
  cli.add_option("--processes", options.processes, "worker processes for the connections")->capture_default_str();
  cli.add_option("--threads", options.threads, "I/O threads per worker process")->capture_default_str();
  cli.add_option("--setup-concurrency", options.setup_concurrency, "parallel HTTP connections during setup")
      ->capture_default_str();
  cli.add_option("--connect-concurrency", options.connect_concurrency, "connections opening at once per process")
      ->capture_default_str();
  cli.add_option("--users-prefix", options.users_prefix, "username prefix (default: random, so runs do not collide)");
  cli.add_option("--password", options.password, "password of every bench account")->capture_default_str();
  cli.add_option("--session-cache", options.session_cache,
                 "JSON file of sessions reused across runs against the same server data (skips argon2)");
  cli.add_option("--json", options.json_path, "write the JSON report here");
  cli.add_flag("--check", options.check, "exit 3 on errors, failed connections or missing deliveries");
  cli.add_flag("-q,--quiet", options.quiet, "no progress on stderr");

  auto* compare_cmd = cli.add_subcommand("compare", "compare reports of two servers; ratios > 1 favour --a");
  std::vector<std::string> a_files, b_files;
  std::string compare_json;
  compare_cmd->add_option("--a", a_files, "reports of server A (e.g. parleyd), one per run")->required();
  compare_cmd->add_option("--b", b_files, "reports of server B (e.g. node-ws), one per run")->required();
  compare_cmd->add_option("--json", compare_json, "write the comparison here");

  auto* media_cmd = cli.add_subcommand("media", "HTTP file transfer load: downloads (GET) or uploads (POST/PUT)");
  MediaOptions media;
  std::string media_server = "http://127.0.0.1:8080";
  media_cmd->add_option("--server", media_server, "server to load: http://HOST:PORT")->capture_default_str();
  media_cmd->add_option("--server-pid", media.server_pids, "its process ids (summed: nginx master and workers)");
  media_cmd->add_option("--label", media.label, "the server's name in reports")->capture_default_str();
  media_cmd->add_option("--method", media.method, "GET downloads, POST or PUT uploads")->capture_default_str();
  media_cmd->add_option("--target", media.target, "request target; {c} is replaced by the connection's index")
      ->required();
  media_cmd->add_option("--token", media.token, "bearer token (Authorization header)");
  media_cmd->add_option("--body-bytes", media.body_bytes, "uploads: body length (random, distinct per request)");
  media_cmd->add_option("--expect-bytes", media.expect_bytes, "downloads: expected body length, else an error");
  media_cmd->add_option("-n,--connections", media.connections, "keep-alive connections")->capture_default_str();
  media_cmd->add_option("--duration", media.duration, "seconds measured")->capture_default_str();
  media_cmd->add_option("--warmup", media.warmup, "seconds of load before measuring")->capture_default_str();
  media_cmd->add_option("--threads", media.threads, "the tool's I/O threads")->capture_default_str();
  media_cmd->add_option("--json", media.json_path, "write the JSON report here");
  media_cmd->add_flag("--check", media.check, "exit 3 on any error or when no request completed");

  CLI11_PARSE(cli, argc, argv);
  try {
    if (media_cmd->parsed()) {
      Options parsed;
      parse_server(media_server, parsed);
      media.host = parsed.host;
      media.port = std::to_string(parsed.port);
      return run_media(media);
    }
    if (compare_cmd->parsed()) {
      std::string table;
      auto result = compare(a_files, b_files, table);
      std::cout << table << std::flush;
      if (!compare_json.empty()) {
        std::ofstream out(compare_json);
        out << boost::json::serialize(result) << '\n';
      }
      return 0;
    }
    parse_servers(server, options);
    for (const auto& group : cpu_groups) options.cpu_groups.push_back(parse_cpu_group(group));
    if (server_pid > 0) options.server_pid = server_pid;
    options.scenario = parse_scenario(scenario);
    options.source_addresses = parse_addresses(sources);
    if (options.processes == 0 || options.threads == 0) throw std::invalid_argument("--processes/--threads: at least 1");
    if (options.duration <= 0) throw std::invalid_argument("--duration: must be positive");
    if (options.message_bytes > 4000) throw std::invalid_argument("--message-bytes: at most 4000");
    for (char c : options.users_prefix) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        throw std::invalid_argument("--users-prefix: only a-z, 0-9 and '_'");
      }
    }
    if (!options.users_prefix.empty() && (options.users_prefix[0] < 'a' || options.users_prefix[0] > 'z')) {
      throw std::invalid_argument("--users-prefix: must start with a letter");
    }
    if (options.churn_interval <= 0) throw std::invalid_argument("--churn-interval: must be positive");
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "parley-bench: " << e.what() << '\n';
    return 1;
  }
}
