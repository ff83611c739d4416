// What one user, one device session or one client address may take of the
// WebSocket endpoint: how many connections each may hold open, and how many
// frames a user and a session may send, across all their connections.
//
// Without these, every connection is a fresh allowance: a session that opens
// 60 sockets sends 60 times the frame rate, and one address can hold every
// connection the server has. The counts are reserved before the connection
// is served (so that simultaneous upgrades cannot all slip past a cap) and
// given back when the ticket that holds them is destroyed.
//
// Memory: one entry per address, user and session with an open connection;
// an entry goes when its last connection does.
//
// Thread-safe. Tickets may outlive the ConnectionLimits that issued them.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "storage/records.hpp"

namespace parley::ws {

class ConnectionLimits {
 public:
  explicit ConnectionLimits(const WebSocketOptions& options);
  ~ConnectionLimits();
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  struct State;
  struct Entry;

  // One connection's place in a count; gives it back when destroyed.
  class AddressTicket {
   public:
    AddressTicket() = default;
    AddressTicket(AddressTicket&&) noexcept;
    AddressTicket& operator=(AddressTicket&&) noexcept;
    ~AddressTicket();

   private:
    friend class ConnectionLimits;
    std::shared_ptr<State> state_;
    std::string address_;
  };

  // A connection's place among its user's and its session's connections,
  // and its share of their frame budgets.
  class UserTicket {
   public:
    UserTicket() = default;
    UserTicket(UserTicket&&) noexcept;
    UserTicket& operator=(UserTicket&&) noexcept;
    ~UserTicket();

    // Takes one frame from the session's budget and the user's; false when
    // either is spent (the frame is to be refused). Call from the
    // connection's strand; other connections of the user call it at the
    // same time from theirs.
    [[nodiscard]] bool allow_frame();

   private:
    friend class ConnectionLimits;
    void release();
    std::shared_ptr<State> state_;
    storage::UserId user_ = 0;
    storage::SessionId session_ = 0;
    std::shared_ptr<Entry> user_entry_;
    std::shared_ptr<Entry> session_entry_;
  };

  // A place for one more connection from `address` (as the peer's IP
  // address is written; IPv6 addresses count per /64, the block one host
  // usually holds); nullopt when the address holds
  // max_connections_per_address already (0: no cap).
  [[nodiscard]] std::optional<AddressTicket> admit_address(std::string_view address);

  // A place for one more connection of `user` (through `session`); nullopt
  // when the user holds max_connections_per_user already.
  [[nodiscard]] std::optional<UserTicket> admit_user(storage::UserId user, storage::SessionId session);

  // Open connections counted for a user (for tests and metrics).
  [[nodiscard]] std::size_t user_connections(storage::UserId user) const;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace parley::ws
