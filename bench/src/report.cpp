#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

namespace parley::bench {

using boost::json::array;
using boost::json::object;
using boost::json::value;

namespace {

double ratio(double numerator, double denominator) { return denominator > 0 ? numerator / denominator : 0.0; }

// Rounded for reading; reports are not precise beyond this.
double round3(double x) { return std::round(x * 1000) / 1000; }

// The number at a dotted path ("server.cpu_seconds"), if there is one.
std::optional<double> number_at(const object& root, std::string_view path) {
  const value* current = nullptr;
  const object* node = &root;
  while (true) {
    auto dot = path.find('.');
    auto key = path.substr(0, dot);
    current = node->if_contains(key);
    if (current == nullptr) return std::nullopt;
    if (dot == std::string_view::npos) break;
    if (!current->is_object()) return std::nullopt;
    node = &current->get_object();
    path.remove_prefix(dot + 1);
  }
  if (current->is_null() || !current->is_number()) return std::nullopt;
  return current->to_number<double>();
}

std::string string_at(const object& root, std::string_view key) {
  const auto* v = root.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : "";
}

std::string millis(double micros) {
  if (micros >= 10'000'000) return fmt::format("{:.1f} s", micros / 1e6);
  if (micros >= 100'000) return fmt::format("{:.0f} ms", micros / 1e3);
  if (micros >= 1000) return fmt::format("{:.1f} ms", micros / 1e3);
  return fmt::format("{:.2f} ms", micros / 1e3);
}

std::string latency_line(std::string_view name, const object& report, std::string_view key) {
  auto at = [&](std::string_view field) {
    return number_at(report, fmt::format("latency_us.{}.{}", key, field)).value_or(0);
  };
  if (at("count") == 0) return "";
  return fmt::format("  {:<10} p50 {:>9}  p90 {:>9}  p99 {:>9}  p99.9 {:>9}  max {:>9}  (n={:.0f})\n", name,
                     millis(at("p50")), millis(at("p90")), millis(at("p99")), millis(at("p999")), millis(at("max")),
                     at("count"));
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  auto n = values.size();
  if (n == 0) return 0;
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

object read_report(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto parsed = boost::json::parse(text.str(), ec);
  if (ec || !parsed.is_object()) throw std::runtime_error(path + ": not a parley-bench report");
  return parsed.as_object();
}

}  // namespace

object build_report(const Options& options, const Topology& topology, const RunResult& result) {
  const Stats& s = result.stats;
  const auto& w = result.window;
  double window = options.duration;
  auto connected = static_cast<double>(s.connected);

  object config{{"connections", options.connections},
                {"users", topology.users.size()},
                {"conversations", topology.conversations.size()},
                {"contacts", topology.contacts.size()},
                {"rate", options.rate},
                {"duration", options.duration},
                {"warmup", options.warmup},
                {"message_bytes", options.message_bytes},
                {"heartbeat", options.heartbeat},
                {"deflate", options.deflate},
                {"processes", options.processes},
                {"threads", options.threads},
                {"source_addresses", array(options.source_addresses.begin(), options.source_addresses.end())},
                {"users_prefix", options.users_prefix},
                {"run_id", options.run_id}};
  if (options.scenario == Scenario::kChurn) {
    config["churn_interval"] = options.churn_interval;
    config["churn_downtime"] = options.churn_downtime;
  }
  if (options.scenario == Scenario::kMix) {
    config["typing_fraction"] = options.typing_fraction;
    config["read_interval"] = options.read_interval;
  }

  object server;
  if (options.server_pid) server["pid"] = *options.server_pid;
  if (w.server_seen) {
    double cpu = w.server_cpu_end - w.server_cpu_start;
    server["cpu_seconds"] = round3(cpu);
    server["cpu_cores"] = round3(cpu / window);
    server["rss_end_kib"] = w.server_rss_end_kib;
    long rss_max = w.server_rss_max_kib;
    if (result.server_connected) rss_max = std::max(rss_max, result.server_connected->rss_kib);
    server["rss_max_kib"] = rss_max;
    server["cpu_us_per_connection_per_s"] = round3(ratio(cpu * 1e6, connected * window));
    server["acked_per_cpu_s"] = std::round(ratio(static_cast<double>(s.acked_in_window), cpu));
    server["delivered_per_cpu_s"] = std::round(ratio(static_cast<double>(s.delivered_in_window), cpu));
    server["cpu_us_per_acked"] = round3(ratio(cpu * 1e6, static_cast<double>(s.acked_in_window)));
    server["cpu_us_per_delivered"] = round3(ratio(cpu * 1e6, static_cast<double>(s.delivered_in_window)));
    // Churn: all the window's CPU over its reconnections, traffic included
    // (the same traffic for every server compared; see bench/README.md).
    if (s.reconnects_in_window > 0) {
      server["cpu_us_per_reconnect"] = round3(ratio(cpu * 1e6, static_cast<double>(s.reconnects_in_window)));
    }
    // By thread name: a single thread near one core is the bottleneck,
    // whatever the process's total.
    object threads;
    for (const auto& [name, end] : w.server_thread_cpu_end) {
      auto start = w.server_thread_cpu_start.find(name);
      double thread_cpu = end - (start == w.server_thread_cpu_start.end() ? 0 : start->second);
      threads[name] =
          object{{"cpu_seconds", round3(thread_cpu)},
                 {"cpu_cores", round3(thread_cpu / window)},
                 {"cpu_us_per_acked", round3(ratio(thread_cpu * 1e6, static_cast<double>(s.acked_in_window)))}};
    }
    server["threads"] = std::move(threads);
  }
  if (result.server_before) server["rss_before_kib"] = result.server_before->rss_kib;
  if (result.server_connected) server["rss_connected_kib"] = result.server_connected->rss_kib;
  if (result.server_before && result.server_connected && connected > 0) {
    server["rss_per_connection_bytes"] = std::round(
        static_cast<double>(result.server_connected->rss_kib - result.server_before->rss_kib) * 1024 / connected);
    server["connect_cpu_ms_per_connection"] = round3(
        (result.server_connected->cpu_seconds - result.server_before->cpu_seconds) * 1000 / connected);
  }

  std::uint64_t missing = s.expected_deliveries > s.delivered ? s.expected_deliveries - s.delivered : 0;
  object messages{{"scheduled", s.scheduled},
                  {"written", s.written},
                  {"resent", s.resent},
                  {"acked", s.acked},
                  {"duplicate_acks", s.duplicate_acks},
                  {"failed_sends", s.failed_sends},
                  {"unacked", s.scheduled - std::min(s.scheduled, s.acked + s.failed_sends)},
                  {"expected_deliveries", s.expected_deliveries},
                  {"delivered", s.delivered},
                  {"missing_deliveries", missing},
                  {"echoes", s.echoes},
                  {"out_of_order", s.out_of_order},
                  {"repeated_deliveries", s.repeated_deliveries},
                  {"sender_behind_max_ms", round3(static_cast<double>(s.send_lag.max()) / 1000)}};

  // Control groups (--cpu-group): the CPU of processes /proc cannot follow
  // (PostgreSQL's backends come and go) or of several at once (a cluster's
  // nodes), per message of the window.
  object cpu_groups;
  for (const auto& [name, cpu] : w.group_cpu_seconds) {
    cpu_groups[name] =
        object{{"cpu_seconds", round3(cpu)},
               {"cpu_cores", round3(cpu / window)},
               {"cpu_us_per_acked", round3(ratio(cpu * 1e6, static_cast<double>(s.acked_in_window)))},
               {"cpu_us_per_delivered", round3(ratio(cpu * 1e6, static_cast<double>(s.delivered_in_window)))}};
  }
  array servers;
  for (const auto& endpoint : server_list(options)) {
    servers.push_back(boost::json::string(fmt::format("http://{}:{}", endpoint.host, endpoint.port)));
  }

  std::uint64_t error_total = 0;
  for (const auto& [key, count] : s.errors) error_total += count;
  object by_kind;
  for (const auto& [key, count] : s.errors) by_kind[key] = count;
  object close_codes;
  for (const auto& [key, count] : s.close_codes) close_codes[key] = count;
  array samples;
  for (const auto& sample : s.error_samples) samples.push_back(boost::json::string(sample));

  object counters;
#define PARLEY_BENCH_REPORT(name) counters[#name] = s.name;
  PARLEY_BENCH_COUNTERS(PARLEY_BENCH_REPORT)
#undef PARLEY_BENCH_REPORT
  object frames;
  for (const auto& [key, count] : s.frames) frames[key] = count;

  return object{
      {"tool", "parley-bench"},
      {"format", 1},
      {"label", options.label},
      {"scenario", scenario_name(options.scenario)},
      {"server", fmt::format("http://{}:{}", options.host, options.port)},
      {"servers", std::move(servers)},
      {"config", std::move(config)},
      {"setup", result.setup},
      {"connections",
       object{{"requested", options.connections},
              {"connected", s.connected},
              {"failed", s.connect_failures},
              {"seconds", round3(result.connect_seconds)},
              {"latency_us", s.connect.summary()}}},
      {"window_seconds", window},
      {"throughput",
       object{{"offered_per_s", options.rate},
              {"acked_per_s", round3(static_cast<double>(s.acked_in_window) / window)},
              {"delivered_per_s", round3(static_cast<double>(s.delivered_in_window) / window)}}},
      {"messages", std::move(messages)},
      {"latency_us",
       object{{"delivery", s.delivery.summary()},
              {"ack", s.ack.summary()},
              {"send_lag", s.send_lag.summary()},
              {"resume", s.resume.summary()}}},
      {"churn",
       object{{"reconnects", s.reconnects},
              {"reconnects_in_window", s.reconnects_in_window},
              {"reconnects_per_s", round3(static_cast<double>(s.reconnects_in_window) / window)},
              {"replayed_events", s.replayed_events},
              {"resumed_deliveries", s.resumed_deliveries},
              {"resync_required", s.resync_required}}},
      {"server_process", std::move(server)},
      {"cpu_groups", std::move(cpu_groups)},
      {"tool_process",
       object{{"cpu_seconds", round3(s.tool_cpu_seconds)},
              {"cpu_cores", round3(s.tool_cpu_seconds / window)},
              {"processes", options.processes},
              {"threads", options.threads}}},
      {"errors",
       object{{"total", error_total},
              {"unexpected_disconnects", s.unexpected_disconnects},
              {"by_kind", std::move(by_kind)},
              {"close_codes", std::move(close_codes)},
              {"samples", std::move(samples)}}},
      {"counters", std::move(counters)},
      {"frames", std::move(frames)}};
}

std::string human_summary(const object& report) {
  auto num = [&](std::string_view path) { return number_at(report, path).value_or(0); };
  auto has = [&](std::string_view path) { return number_at(report, path).has_value(); };
  std::string out;
  out += fmt::format("parley-bench: {} against {} ({}): {:.0f} connections, {:.0f} users, {:.0f} msg/s offered, "
                     "{:g} s measured after {:g} s warm-up\n",
                     string_at(report, "scenario"), string_at(report, "label"), string_at(report, "server"),
                     num("config.connections"), num("config.users"), num("config.rate"), num("window_seconds"),
                     num("config.warmup"));
  out += fmt::format("  setup      {:.1f} s ({:.0f} users, {:.0f} contact pairs, {:.0f} conversations)\n",
                     num("setup.seconds"), num("config.users"), num("config.contacts"), num("config.conversations"));
  out += fmt::format("  connect    {:.0f}/{:.0f} in {:.1f} s; connect to synced p50 {} p99 {} max {}\n",
                     num("connections.connected"), num("connections.requested"), num("connections.seconds"),
                     millis(num("connections.latency_us.p50")), millis(num("connections.latency_us.p99")),
                     millis(num("connections.latency_us.max")));
  if (num("config.rate") > 0) {
    out += fmt::format("  throughput acked {:.1f}/s, delivered {:.1f}/s (offered {:.0f}/s)\n",
                       num("throughput.acked_per_s"), num("throughput.delivered_per_s"), num("config.rate"));
    out += fmt::format("  messages   {:.0f} sent, {:.0f} acked, {:.0f} of {:.0f} deliveries arrived, {:.0f} missing; "
                       "sender fell behind by {:.1f} ms at most\n",
                       num("messages.scheduled"), num("messages.acked"), num("messages.delivered"),
                       num("messages.expected_deliveries"), num("messages.missing_deliveries"),
                       num("messages.sender_behind_max_ms"));
    out += "  latency from intended send time:\n";
    out += latency_line("delivery", report, "delivery");
    out += latency_line("ack", report, "ack");
  }
  if (num("churn.reconnects") > 0) {
    out += fmt::format("  churn      {:.0f} reconnects ({:.1f}/s in the window), {:.0f} events replayed, {:.0f} messages "
                       "delivered by resumes, {:.0f} repeated, {:.0f} resyncs; server {:.1f} CPU µs per reconnect\n",
                       num("churn.reconnects"), num("churn.reconnects_per_s"), num("churn.replayed_events"),
                       num("churn.resumed_deliveries"), num("messages.repeated_deliveries"),
                       num("churn.resync_required"), num("server_process.cpu_us_per_reconnect"));
    out += latency_line("resume", report, "resume");
  }
  if (has("server_process.cpu_seconds")) {
    out += fmt::format("  server     {:.2f} CPU-s in the window ({:.0f}% of a core); RSS {:.1f} MiB before connecting, "
                       "{:.1f} MiB connected, {:.1f} MiB max\n",
                       num("server_process.cpu_seconds"), 100 * num("server_process.cpu_cores"),
                       num("server_process.rss_before_kib") / 1024, num("server_process.rss_connected_kib") / 1024,
                       num("server_process.rss_max_kib") / 1024);
    out += fmt::format("             {:.1f} KiB RSS and {:.2f} ms CPU to connect per connection; "
                       "{:.1f} µs CPU per connection-second\n",
                       num("server_process.rss_per_connection_bytes") / 1024,
                       num("server_process.connect_cpu_ms_per_connection"),
                       num("server_process.cpu_us_per_connection_per_s"));
    if (num("config.rate") > 0) {
      out += fmt::format("             {:.0f} acked and {:.0f} delivered messages per CPU-second "
                         "({:.1f} µs per acked, {:.1f} µs per delivered)\n",
                         num("server_process.acked_per_cpu_s"), num("server_process.delivered_per_cpu_s"),
                         num("server_process.cpu_us_per_acked"), num("server_process.cpu_us_per_delivered"));
    }
    const auto& server = report.at("server_process").as_object();
    if (const auto* threads = server.if_contains("threads"); threads && !threads->as_object().empty()) {
      out += "             threads:";
      for (const auto& [name, thread] : threads->as_object()) {
        const auto& t = thread.as_object();
        out +=
            fmt::format(" {} {:.0f}% of a core", std::string_view(name), 100 * t.at("cpu_cores").to_number<double>());
        if (num("config.rate") > 0) {
          out += fmt::format(" ({:.1f} µs per acked)", t.at("cpu_us_per_acked").to_number<double>());
        }
        out += ";";
      }
      out += "\n";
    }
  }
  out += fmt::format("  tool       {:.2f} CPU-s in the window ({:.0f}% of a core), {:.0f} process(es)\n",
                     num("tool_process.cpu_seconds"), 100 * num("tool_process.cpu_cores"), num("config.processes"));
  const auto& errors = report.at("errors").as_object();
  if (num("errors.total") == 0) {
    out += "  errors     none\n";
  } else {
    out += fmt::format("  errors     {:.0f}:", num("errors.total"));
    for (const auto& [key, count] : errors.at("by_kind").as_object()) {
      out += fmt::format(" {} x{};", std::string_view(key), count.to_number<std::uint64_t>());
    }
    out += "\n";
    for (const auto& sample : errors.at("samples").as_array()) {
      out += fmt::format("             e.g. {}\n", std::string_view(sample.as_string()));
    }
  }
  return out;
}

std::vector<std::string> problems(const object& report) {
  auto num = [&](std::string_view path) { return number_at(report, path).value_or(0); };
  std::vector<std::string> found;
  if (num("errors.total") > 0) found.push_back(fmt::format("{:.0f} errors", num("errors.total")));
  if (num("connections.failed") > 0) found.push_back(fmt::format("{:.0f} connections failed", num("connections.failed")));
  if (num("config.rate") > 0) {
    if (num("messages.delivered") == 0) found.emplace_back("nothing was delivered");
    if (num("messages.missing_deliveries") > 0) {
      found.push_back(fmt::format("{:.0f} deliveries missing", num("messages.missing_deliveries")));
    }
    if (num("messages.unacked") > 0) found.push_back(fmt::format("{:.0f} messages unacked", num("messages.unacked")));
    if (num("messages.repeated_deliveries") > 0) {
      found.push_back(fmt::format("{:.0f} deliveries repeated", num("messages.repeated_deliveries")));
    }
    if (num("messages.out_of_order") > 0) {
      found.push_back(fmt::format("{:.0f} deliveries out of order", num("messages.out_of_order")));
    }
  }
  return found;
}

object compare(const std::vector<std::string>& a_files, const std::vector<std::string>& b_files,
               std::string& table) {
  std::vector<object> a, b;
  for (const auto& file : a_files) a.push_back(read_report(file));
  for (const auto& file : b_files) b.push_back(read_report(file));
  if (a.empty() || b.empty()) throw std::runtime_error("compare: reports of both servers are needed");

  // higher: the ratio is A/B (throughput); lower: B/A (latency, memory,
  // CPU). Either way a ratio above 1 means A did better.
  enum class Better { kHigher, kLower, kNone };
  struct Metric {
    const char* path;
    const char* label;
    Better better;
  };
  const Metric metrics[] = {
      {"throughput.acked_per_s", "acked messages/s", Better::kHigher},
      {"throughput.delivered_per_s", "delivered messages/s", Better::kHigher},
      {"latency_us.delivery.p50", "delivery latency p50 (µs)", Better::kLower},
      {"latency_us.delivery.p90", "delivery latency p90 (µs)", Better::kLower},
      {"latency_us.delivery.p99", "delivery latency p99 (µs)", Better::kLower},
      {"latency_us.delivery.p999", "delivery latency p99.9 (µs)", Better::kLower},
      {"latency_us.delivery.max", "delivery latency max (µs)", Better::kLower},
      {"latency_us.ack.p50", "ack latency p50 (µs)", Better::kLower},
      {"latency_us.ack.p99", "ack latency p99 (µs)", Better::kLower},
      {"server_process.cpu_seconds", "server CPU-s in window", Better::kLower},
      {"server_process.cpu_us_per_acked", "server CPU µs per acked message", Better::kLower},
      {"server_process.cpu_us_per_delivered", "server CPU µs per delivery", Better::kLower},
      {"server_process.delivered_per_cpu_s", "deliveries per server CPU-s", Better::kHigher},
      {"server_process.cpu_us_per_connection_per_s", "server CPU µs per connection-s", Better::kLower},
      {"server_process.cpu_us_per_reconnect", "server CPU µs per reconnect+resume", Better::kLower},
      {"latency_us.resume.p50", "reconnect to synced p50 (µs)", Better::kLower},
      {"latency_us.resume.p99", "reconnect to synced p99 (µs)", Better::kLower},
      {"server_process.rss_per_connection_bytes", "server RSS per connection (bytes)", Better::kLower},
      {"server_process.rss_max_kib", "server RSS max (KiB)", Better::kLower},
      {"connections.latency_us.p50", "connect to synced p50 (µs)", Better::kLower},
      {"connections.latency_us.p99", "connect to synced p99 (µs)", Better::kLower},
      {"tool_process.cpu_cores", "tool CPU (cores)", Better::kNone},
      {"messages.missing_deliveries", "missing deliveries", Better::kNone},
      {"messages.repeated_deliveries", "repeated deliveries", Better::kNone},
      {"errors.total", "errors", Better::kNone},
  };

  std::string a_label = string_at(a.front(), "label"), b_label = string_at(b.front(), "label");
  if (a_label.empty()) a_label = "A";
  if (b_label.empty()) b_label = "B";
  array rows;
  auto first = [&](std::string_view path) { return number_at(a.front(), path).value_or(0); };
  table = fmt::format("{} vs {}: scenario {}, {:g} connections, {:g} msg/s offered, {:g} s; {} run(s) each, medians; "
                      "ratio > 1 means {} did better\n",
                      a_label, b_label, string_at(a.front(), "scenario"), first("config.connections"),
                      first("config.rate"), first("config.duration"), std::min(a.size(), b.size()), a_label);
  table += fmt::format("  {:<36} {:>14} {:>14} {:>9}\n", "metric", a_label, b_label, "ratio");
  for (const auto& metric : metrics) {
    std::vector<double> av, bv;
    for (const auto& report : a) {
      if (auto v = number_at(report, metric.path)) av.push_back(*v);
    }
    for (const auto& report : b) {
      if (auto v = number_at(report, metric.path)) bv.push_back(*v);
    }
    if (av.empty() || bv.empty()) continue;
    double am = median(av), bm = median(bv);
    if (metric.better != Better::kNone && am == 0 && bm == 0) continue;
    double r = metric.better == Better::kHigher ? ratio(am, bm) : metric.better == Better::kLower ? ratio(bm, am) : 0;
    std::string shown = metric.better == Better::kNone ? "" : fmt::format("{:.2f}", r);
    table += fmt::format("  {:<36} {:>14.6g} {:>14.6g} {:>9}\n", metric.label, am, bm, shown);
    object row{{"metric", metric.path}, {"a", am}, {"b", bm}};
    if (metric.better != Better::kNone) {
      row["ratio"] = round3(r);
      row["ratio_is"] = metric.better == Better::kHigher ? "a/b" : "b/a";
    }
    rows.push_back(std::move(row));
  }
  array a_runs(a_files.begin(), a_files.end()), b_runs(b_files.begin(), b_files.end());
  return object{{"scenario", string_at(a.front(), "scenario")},
                {"a", a_label},
                {"b", b_label},
                {"a_reports", std::move(a_runs)},
                {"b_reports", std::move(b_runs)},
                {"rows", std::move(rows)}};
}

}  // namespace parley::bench
