// The results of a run as JSON (the machine-readable report) and as text
// for people, and the side-by-side comparison of two servers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "load.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "stats.hpp"
#include "topology.hpp"

namespace parley::bench {

// Everything a run measured, gathered by main().
struct RunResult {
  boost::json::object setup;                 // from run_setup()
  double connect_seconds = 0;                // opening every connection
  std::optional<ProcSample> server_before;   // after setup, before connecting
  std::optional<ProcSample> server_connected;  // once every connection is open
  WindowSample window;                       // over the measurement window
  Stats stats;                               // merged over threads and processes
};

// The JSON report; its fields are described in bench/README.md.
[[nodiscard]] boost::json::object build_report(const Options& options, const Topology& topology,
                                               const RunResult& result);

// A few lines for a terminal, from a report.
[[nodiscard]] std::string human_summary(const boost::json::object& report);

// Problems that make a run unfit to quote (errors, missing deliveries,
// nothing delivered); empty when clean. What --check tests.
[[nodiscard]] std::vector<std::string> problems(const boost::json::object& report);

// Reads reports of server A and server B (several runs each: medians are
// compared), prints a table with ratios oriented so that > 1 means A did
// better, and returns the comparison as JSON. Throws std::runtime_error for
// unreadable files.
[[nodiscard]] boost::json::object compare(const std::vector<std::string>& a_files,
                                          const std::vector<std::string>& b_files, std::string& table);

}  // namespace parley::bench
