#include "support/cluster_process.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace parley::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// In a child before exec: closes every descriptor but stdin, stdout and
// stderr. The test's own sockets (its WebSocket clients) must not live on in
// what it starts: a PostgreSQL or Redis started again from the test would
// keep them open, and parleyd would never see those clients leave.
void close_inherited_descriptors() { ::close_range(3, ~0U, 0); }

// Runs a command line through the shell, nothing inherited; its exit status.
int run(const std::string& command) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close_inherited_descriptors();
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs a command and returns what it printed on stdout.
std::string output_of(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

bool port_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

bool redis_answers(std::uint16_t port) {
  timeval timeout{0, 200'000};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
  bool ok = false;
  if (context != nullptr && context->err == 0) {
    auto* reply = static_cast<redisReply*>(redisCommand(context, "PING"));
    ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (context != nullptr) redisFree(context);
  return ok;
}

bool postgres_answers(const std::string& conninfo) {
  PGconn* connection = PQconnectdb((conninfo + " connect_timeout=2").c_str());
  bool ok = PQstatus(connection) == CONNECTION_OK;
  PQfinish(connection);
  return ok;
}

// Whether a process (not necessarily our child) is gone or a zombie.
bool process_gone(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

void wait_gone(pid_t pid, const std::string& what) {
  auto deadline = Clock::now() + 10s;
  while (!process_gone(pid)) {
    if (Clock::now() > deadline) throw std::runtime_error(what + " did not end after SIGKILL");
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace

ClusterProcess::ClusterProcess(const std::string& node_config) {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-cluster-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  std::filesystem::path base = pattern;
  dir_ = base / "cluster";
  std::ofstream(base / "node.toml") << node_config << "\n";
  std::string config = (base / "node.toml").string();
  std::string out = (base / "cluster.out").string();

  script_pid_ = fork();
  if (script_pid_ < 0) throw std::runtime_error("fork failed");
  if (script_pid_ == 0) {
    // Its own process group, so that a test's Ctrl-C reaches it only
    // through our destructor, in order.
    setpgid(0, 0);
    // A test that dies without its destructor (a timeout's SIGKILL) takes
    // the cluster with it: the script's cleanup stops everything.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    close_inherited_descriptors();
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    setenv("PARLEYD_BIN", PARLEYD_PATH, 1);
    setenv("PARLEY_NODE_CONFIG", config.c_str(), 1);
    setenv("PARLEY_CLUSTER_PORT", "0", 1);
    std::string script = std::string(PARLEY_SOURCE_DIR) + "/scripts/cluster.sh";
    // PARLEY_TEST_KEEP keeps the folders (logs) for a look afterwards.
    const char* keep = std::getenv("PARLEY_TEST_KEEP") != nullptr ? "--keep" : "--no-build";
    execl(script.c_str(), script.c_str(), "--no-build", keep, "--dir", dir_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = Clock::now() + 90s;
  while (!std::filesystem::exists(dir_ / "cluster.env")) {
    int status = 0;
    if (waitpid(script_pid_, &status, WNOHANG) == script_pid_) {
      script_pid_ = -1;
      throw std::runtime_error("scripts/cluster.sh exited during start:\n" + read_file(out));
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error("scripts/cluster.sh did not start in time:\n" + read_file(out));
    }
    std::this_thread::sleep_for(50ms);
  }
  std::istringstream lines(read_file(dir_ / "cluster.env"));
  for (std::string line; std::getline(lines, line);) {
    auto equals = line.find('=');
    if (equals != std::string::npos) env_[line.substr(0, equals)] = line.substr(equals + 1);
  }
}

ClusterProcess::~ClusterProcess() {
  if (redis_pid_ > 0) {
    ::kill(redis_pid_, SIGKILL);
    waitpid(redis_pid_, nullptr, 0);
  }
  if (script_pid_ > 0) {
    ::kill(script_pid_, SIGTERM);
    auto deadline = Clock::now() + 30s;
    int status = 0;
    while (waitpid(script_pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(-script_pid_, SIGKILL);
        waitpid(script_pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  if (std::getenv("PARLEY_TEST_KEEP") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_.parent_path(), ignored);
  }
}

const std::string& ClusterProcess::env(const std::string& key) const {
  auto found = env_.find(key);
  if (found == env_.end()) throw std::runtime_error("cluster.env has no " + key);
  return found->second;
}

std::uint16_t ClusterProcess::lb_port() const { return static_cast<std::uint16_t>(std::stoi(env("HAPROXY_PORT"))); }

std::uint16_t ClusterProcess::node_port(int node) const {
  return static_cast<std::uint16_t>(std::stoi(env("NODE" + std::to_string(node) + "_PORT")));
}

std::uint16_t ClusterProcess::redis_port() const { return static_cast<std::uint16_t>(std::stoi(env("REDIS_PORT"))); }

std::string ClusterProcess::postgres_conninfo() const { return env("PG_CONNINFO"); }

std::string ClusterProcess::node_log(int node) const {
  return read_file(dir_ / ("node" + std::to_string(node)) / "parleyd.log");
}

std::size_t ClusterProcess::node_log_count(int node, std::string_view text) const {
  std::string all = node_log(node);
  std::size_t count = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++count;
  return count;
}

bool ClusterProcess::wait_for_node_log(int node, std::string_view text, std::size_t count,
                                       std::chrono::milliseconds timeout) const {
  // The log is the only channel a node has to say what it did in the
  // background; polled briefly until the line is there.
  auto deadline = Clock::now() + timeout;
  while (node_log_count(node, text) < count) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

void ClusterProcess::kill_node(int node) {
  auto pid = static_cast<pid_t>(std::stoi(env("NODE" + std::to_string(node) + "_PID")));
  ::kill(pid, SIGKILL);
  wait_gone(pid, "node " + std::to_string(node));
}

void ClusterProcess::kill_redis() {
  if (redis_pid_ > 0) {
    ::kill(redis_pid_, SIGKILL);
    waitpid(redis_pid_, nullptr, 0);
    redis_pid_ = -1;
  } else {
    auto pid = static_cast<pid_t>(std::stoi(read_file(std::filesystem::path(env("REDIS_DIR")) / "redis.pid")));
    ::kill(pid, SIGKILL);
    wait_gone(pid, "Redis");
  }
  auto deadline = Clock::now() + 10s;
  while (port_accepts(redis_port())) {
    if (Clock::now() > deadline) throw std::runtime_error("Redis's port still accepts after SIGKILL");
    std::this_thread::sleep_for(10ms);
  }
}

void ClusterProcess::start_redis() {
  redis_pid_ = fork();
  if (redis_pid_ < 0) throw std::runtime_error("fork failed");
  if (redis_pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close_inherited_descriptors();
    std::string port = std::to_string(redis_port());
    std::string script = std::string(PARLEY_SOURCE_DIR) + "/scripts/redis-test-server.sh";
    execl(script.c_str(), script.c_str(), env("REDIS_DIR").c_str(), port.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = Clock::now() + 10s;
  while (!redis_answers(redis_port())) {
    if (waitpid(redis_pid_, nullptr, WNOHANG) == redis_pid_) {
      redis_pid_ = -1;
      throw std::runtime_error("Redis exited during start");
    }
    if (Clock::now() > deadline) throw std::runtime_error("Redis did not start again in time");
    std::this_thread::sleep_for(20ms);
  }
}

int ClusterProcess::cut_redis_connections() {
  std::string filter = "dst 127.0.0.1 dport = " + std::to_string(redis_port());
  std::string before = output_of("ss -Htn " + filter);
  int open = 0;
  for (char c : before) open += c == '\n' ? 1 : 0;
  if (run("ss -K " + filter + " >/dev/null 2>&1") != 0) throw std::runtime_error("ss -K failed");
  return open;
}

void ClusterProcess::restart_postgres() {
  std::string pg_ctl = "/usr/lib/postgresql/15/bin/pg_ctl -D " + env("PG_CLUSTER") + "/data -m fast -w -t 60 restart";
  // The server runs as `postgres` when the tests run as root
  // (scripts/pg-test-server.sh).
  if (geteuid() == 0) pg_ctl = "runuser -u postgres -- " + pg_ctl;
  if (run(pg_ctl + " >/dev/null 2>&1") != 0) throw std::runtime_error("pg_ctl restart failed");
  auto deadline = Clock::now() + 30s;
  while (!postgres_answers(postgres_conninfo())) {
    if (Clock::now() > deadline) throw std::runtime_error("PostgreSQL did not come back");
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace parley::test
