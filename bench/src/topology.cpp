#include "topology.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace parley::bench {

std::string_view scenario_name(Scenario scenario) {
  switch (scenario) {
    case Scenario::kIdle: return "idle";
    case Scenario::kPairs: return "pairs";
    case Scenario::kGroup10: return "group10";
    case Scenario::kGroup100: return "group100";
    case Scenario::kChurn: return "churn";
    case Scenario::kMix: return "mix";
  }
  return "?";
}

Scenario parse_scenario(std::string_view name) {
  for (auto s : {Scenario::kIdle, Scenario::kPairs, Scenario::kGroup10, Scenario::kGroup100, Scenario::kChurn,
                 Scenario::kMix}) {
    if (scenario_name(s) == name) return s;
  }
  throw std::invalid_argument(fmt::format("unknown scenario '{}'", name));
}

namespace {

using Kind = BenchConversation::Kind;

class Planner {
 public:
  explicit Planner(Topology& topology) : t_(topology) {}

  void contact(std::uint32_t a, std::uint32_t b) {
    if (a == b) return;
    if (known_.insert({std::min(a, b), std::max(a, b)}).second) t_.contacts.emplace_back(a, b);
  }

  void direct(std::uint32_t a, std::uint32_t b, double weight) {
    contact(a, b);
    t_.conversations.push_back(BenchConversation{Kind::kDirect, "", a, {a, b}, {}, weight, 0});
  }

  // A group of `members`, created by the first, who must be contacts of all.
  void group(const std::string& name, std::vector<std::uint32_t> members, double weight) {
    for (auto member : members) contact(members.front(), member);
    auto creator = members.front();
    t_.conversations.push_back(BenchConversation{Kind::kGroup, name, creator, std::move(members), {}, weight, 0});
  }

 private:
  Topology& t_;
  std::set<std::pair<std::uint32_t, std::uint32_t>> known_;
};

// Splits [0, n) into consecutive blocks of `size`; a last block of one joins
// the one before it.
std::vector<std::vector<std::uint32_t>> blocks(std::uint32_t n, std::uint32_t size) {
  std::vector<std::vector<std::uint32_t>> result;
  for (std::uint32_t start = 0; start < n; start += size) {
    std::vector<std::uint32_t> block;
    for (std::uint32_t i = start; i < std::min(n, start + size); ++i) block.push_back(i);
    if (block.size() == 1 && !result.empty()) {
      result.back().push_back(block.front());
    } else {
      result.push_back(std::move(block));
    }
  }
  return result;
}

}  // namespace

Topology plan(const Options& options) {
  Topology t;
  const std::uint32_t n = options.connections;
  if (n < 2) throw std::invalid_argument("--connections: at least 2");
  std::uint32_t users = options.users;
  if (users == 0) users = options.scenario == Scenario::kIdle ? std::min<std::uint32_t>(n, 100) : n;
  if (options.scenario != Scenario::kIdle && users != n) {
    throw std::invalid_argument("--users: only the idle scenario shares users between connections");
  }
  if (users > n) throw std::invalid_argument("--users: at most --connections");
  for (std::uint32_t i = 0; i < users; ++i) {
    t.users.push_back(BenchUser{fmt::format("{}u{}", options.users_prefix, i), 0, ""});
  }

  Planner planner(t);
  switch (options.scenario) {
    case Scenario::kIdle: break;
    case Scenario::kPairs:
    case Scenario::kChurn:
      if (n % 2 != 0) throw std::invalid_argument("--connections: must be even for pairs");
      for (std::uint32_t i = 0; i < n; i += 2) planner.direct(i, i + 1, 1);
      break;
    case Scenario::kGroup10:
    case Scenario::kGroup100: {
      std::uint32_t size = options.scenario == Scenario::kGroup10 ? 10 : 100;
      int k = 0;
      for (auto& block : blocks(n, size)) planner.group(fmt::format("bench group {}", k++), std::move(block), 1);
      break;
    }
    case Scenario::kMix: {
      // A team chat: teams of 10 with a group each, direct conversations
      // with the two neighbours in the team, and a channel per 100 people.
      // Of each person's messages 60% are direct, 30% to the team, 10% to
      // the channel.
      int k = 0;
      auto teams = blocks(n, 10);
      for (auto& team : teams) {
        auto s = static_cast<std::uint32_t>(team.size());
        if (s == 2) {
          planner.direct(team[0], team[1], 0.3);
        } else {
          for (std::uint32_t i = 0; i < s; ++i) planner.direct(team[i], team[(i + 1) % s], 0.3);
        }
        planner.group(fmt::format("team {}", k++), team, 0.3);
      }
      if (teams.size() > 1) {
        k = 0;
        for (auto& channel : blocks(n, 100)) planner.group(fmt::format("channel {}", k++), std::move(channel), 0.1);
      }
      break;
    }
  }

  // Connections: one per user, or round robin over the users (idle).
  t.connections.resize(n);
  for (std::uint32_t c = 0; c < n; ++c) t.connections[c].user = c % users;
  std::vector<std::vector<std::uint32_t>> connections_of(users);
  for (std::uint32_t c = 0; c < n; ++c) connections_of[t.connections[c].user].push_back(c);

  for (std::uint32_t i = 0; i < t.conversations.size(); ++i) {
    auto& conversation = t.conversations[i];
    for (auto member : conversation.members) {
      for (auto c : connections_of[member]) {
        conversation.connections.push_back(c);
        if (options.scenario != Scenario::kIdle) t.connections[c].targets.push_back(Target{i, conversation.weight});
      }
    }
  }
  for (auto& connection : t.connections) {
    double total = 0;
    for (const auto& target : connection.targets) total += target.cumulative;
    double sum = 0;
    for (auto& target : connection.targets) {
      sum += target.cumulative / total;
      target.cumulative = sum;
    }
    if (!connection.targets.empty()) connection.targets.back().cumulative = 1.0;
  }
  return t;
}

}  // namespace parley::bench
