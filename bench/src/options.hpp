// What one benchmark run does: the command line, parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace parley::bench {

enum class Scenario { kIdle, kPairs, kGroup10, kGroup100, kChurn, kMix };

[[nodiscard]] std::string_view scenario_name(Scenario scenario);
// Throws std::invalid_argument for an unknown name.
[[nodiscard]] Scenario parse_scenario(std::string_view name);

// One server address: the tool spreads connections over several (the nodes
// of a cluster, without a load balancer in between).
struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
};

// A control group whose CPU time is sampled over the measurement window,
// by name (e.g. "postgres" and the folder of its cgroup).
struct CpuGroup {
  std::string name;
  std::string path;  // a cgroup folder: v1 cpuacct.usage or v2 cpu.stat
};

struct Options {
  // The server under test: `host`:`port` is the first of `servers`. With
  // several servers, connection i talks to servers[i % n] and setup's
  // REST connections go round robin over them too.
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::vector<Endpoint> servers;  // at least one once parsed
  std::vector<CpuGroup> cpu_groups;  // --cpu-group NAME=DIR
  std::optional<pid_t> server_pid;  // for CPU and RSS from /proc
  std::string label;                // names the server in reports ("parleyd", "node-ws")

  Scenario scenario = Scenario::kPairs;
  unsigned connections = 100;
  // Accounts to create; 0 = the scenario's choice (one per connection, except
  // idle: min(connections, 100), each token shared by several connections).
  unsigned users = 0;
  double rate = 0;        // messages per second offered by all senders together (open loop)
  double duration = 10;   // seconds measured
  double warmup = 2;      // seconds of load before the measurement starts
  double drain_timeout = 15;  // seconds after the end to wait for acks and deliveries
  double heartbeat = 25;  // seconds between {"type":"ping"} frames per connection; 0 = none
  std::size_t message_bytes = 64;  // length of each message's text
  bool deflate = false;   // offer permessage-deflate, as browsers do

  // Churn: each connection drops after an exponentially distributed time of
  // this mean, stays away `churn_downtime` seconds and resumes.
  double churn_interval = 5;
  double churn_downtime = 0.5;
  // Mix: typing frames before this fraction of messages; read receipts for
  // conversations with new messages every `read_interval` seconds.
  double typing_fraction = 0.5;
  double read_interval = 2;

  std::vector<std::string> source_addresses;  // local addresses to connect from, round robin
  unsigned processes = 1;       // worker processes holding the connections
  unsigned threads = 1;         // I/O threads per worker process
  unsigned setup_concurrency = 16;    // parallel HTTP connections during setup
  unsigned connect_concurrency = 200; // connections opening at once, per process

  std::string users_prefix;     // usernames are PREFIX + "u" + N; default a random prefix
  // A JSON file of sessions ({username: {token, id}}) from earlier runs
  // against the same server and data: users found there are neither
  // registered nor logged in again (argon2 costs most of a setup); the
  // file is rewritten with every user's session after setup.
  std::string session_cache;
  std::string password = "bench-password";
  std::string run_id;           // part of every client_id; random
  std::string json_path;        // where to write the JSON report
  bool check = false;           // exit 3 if nothing was delivered, something is missing, or errors occurred
  bool quiet = false;           // no progress lines on stderr
};

// The servers to spread connections over: `servers`, or host:port alone.
[[nodiscard]] inline std::vector<Endpoint> server_list(const Options& options) {
  if (!options.servers.empty()) return options.servers;
  return {Endpoint{options.host, options.port}};
}

}  // namespace parley::bench
