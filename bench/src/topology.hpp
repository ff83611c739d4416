// Who exists in a scenario: users, their contacts, conversations, and which
// connection belongs to which user and sends where. Planned from the options
// (plan()), then given server ids and tokens by setup (setup.hpp).
//
// Indices, not ids, tie the pieces together: ids come from the server and
// differ between runs; indices are the same in every worker process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"

namespace parley::bench {

struct BenchUser {
  std::string username;
  std::int64_t id = 0;   // from the server
  std::string token;     // one session, shared by all the user's connections
};

struct BenchConversation {
  enum class Kind { kDirect, kGroup };
  Kind kind = Kind::kDirect;
  std::string name;                      // groups only
  std::uint32_t creator = 0;             // user index
  std::vector<std::uint32_t> members;    // user indices, creator included
  std::vector<std::uint32_t> connections;  // connection indices of the members
  double weight = 1;                     // share of a member's messages that go here
  std::int64_t id = 0;                   // from the server
};

struct Target {
  std::uint32_t conversation = 0;
  double cumulative = 0;  // cumulative probability, the last target's is 1
};

struct BenchConnection {
  std::uint32_t user = 0;
  std::vector<Target> targets;  // where its messages go; empty = it only listens
};

struct Topology {
  std::vector<BenchUser> users;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> contacts;  // first invites second
  std::vector<BenchConversation> conversations;
  std::vector<BenchConnection> connections;
};

// The scenario's users, contacts, conversations and connections. Throws
// std::invalid_argument when the options do not fit the scenario.
[[nodiscard]] Topology plan(const Options& options);

}  // namespace parley::bench
