// Setup over the REST API: accounts, sessions, contacts and conversations
// for a planned topology. Runs before the load, on its own threads, with
// keep-alive HTTP connections.
#pragma once

#include <boost/json/object.hpp>

#include "options.hpp"
#include "topology.hpp"

namespace parley::bench {

// Registers (or reuses, if the username exists with the same password) every
// user, logs each in once, makes the planned contacts and creates the
// conversations; fills in ids and tokens. Throws std::runtime_error with the
// server's answer when a step fails. Returns what it did and how long each
// phase took, for the report.
[[nodiscard]] boost::json::object run_setup(const Options& options, Topology& topology);

}  // namespace parley::bench
