#include "ws/connection_limits.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

#include "ws/rate_limiter.hpp"

namespace parley::ws {

// A user's or a session's frame budget. Its own mutex: frames of different
// users never wait for each other, and admissions never wait for frames.
struct ConnectionLimits::Entry {
  Entry(double rate, double burst) : limiter(rate, burst) {}
  std::mutex mutex;
  RateLimiter limiter;          // guarded by mutex
  std::size_t connections = 0;  // guarded by State::mutex
};

namespace {

// What one client address is. An IPv6 host is usually given a whole /64 and
// can pick any address in it, so IPv6 addresses count per /64; an IPv4 one
// (also written as ::ffff:a.b.c.d) counts as itself.
std::string address_key(std::string_view address) {
  boost::system::error_code ec;
  auto parsed = boost::asio::ip::make_address(address, ec);
  if (ec || !parsed.is_v6()) return std::string(address);
  auto v6 = parsed.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace

struct ConnectionLimits::State {
  explicit State(const WebSocketOptions& o) : options(o) {}
  const WebSocketOptions options;
  mutable std::mutex mutex;
  std::unordered_map<std::string, std::size_t> by_address;                    // guarded by mutex
  std::unordered_map<storage::UserId, std::shared_ptr<Entry>> by_user;        // guarded by mutex
  std::unordered_map<storage::SessionId, std::shared_ptr<Entry>> by_session;  // guarded by mutex
};

ConnectionLimits::ConnectionLimits(const WebSocketOptions& options) : state_(std::make_shared<State>(options)) {}
ConnectionLimits::~ConnectionLimits() = default;

std::optional<ConnectionLimits::AddressTicket> ConnectionLimits::admit_address(std::string_view address) {
  std::lock_guard lock(state_->mutex);
  std::size_t cap = state_->options.max_connections_per_address;
  auto [it, inserted] = state_->by_address.try_emplace(address_key(address), 0);
  if (cap != 0 && it->second >= cap) return std::nullopt;
  ++it->second;
  AddressTicket ticket;
  ticket.state_ = state_;
  ticket.address_ = it->first;
  return ticket;
}

std::optional<ConnectionLimits::UserTicket> ConnectionLimits::admit_user(storage::UserId user,
                                                                         storage::SessionId session) {
  const auto& options = state_->options;
  std::lock_guard lock(state_->mutex);
  auto& user_entry = state_->by_user[user];
  if (!user_entry) {
    user_entry = std::make_shared<Entry>(options.user_frames_per_second, options.user_frame_burst);
  }
  // The cap is at least 1 (config), so a refused user always has an entry
  // held by a connection: a refusal leaves nothing behind.
  if (user_entry->connections >= options.max_connections_per_user) return std::nullopt;
  auto& session_entry = state_->by_session[session];
  if (!session_entry) session_entry = std::make_shared<Entry>(options.frames_per_second, options.frame_burst);
  ++user_entry->connections;
  ++session_entry->connections;
  UserTicket ticket;
  ticket.state_ = state_;
  ticket.user_ = user;
  ticket.session_ = session;
  ticket.user_entry_ = user_entry;
  ticket.session_entry_ = session_entry;
  return ticket;
}

std::size_t ConnectionLimits::user_connections(storage::UserId user) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->by_user.find(user);
  return it == state_->by_user.end() ? 0 : it->second->connections;
}

// ---- tickets ------------------------------------------------------------------

ConnectionLimits::AddressTicket::AddressTicket(AddressTicket&& other) noexcept
    : state_(std::move(other.state_)), address_(std::move(other.address_)) {
  other.state_ = nullptr;
}

ConnectionLimits::AddressTicket& ConnectionLimits::AddressTicket::operator=(AddressTicket&& other) noexcept {
  if (this != &other) {
    AddressTicket released(std::move(*this));
    state_ = std::move(other.state_);
    address_ = std::move(other.address_);
    other.state_ = nullptr;
  }
  return *this;
}

ConnectionLimits::AddressTicket::~AddressTicket() {
  if (!state_) return;
  std::lock_guard lock(state_->mutex);
  auto it = state_->by_address.find(address_);
  if (it != state_->by_address.end() && --it->second == 0) state_->by_address.erase(it);
}

ConnectionLimits::UserTicket::UserTicket(UserTicket&& other) noexcept
    : state_(std::move(other.state_)),
      user_(other.user_),
      session_(other.session_),
      user_entry_(std::move(other.user_entry_)),
      session_entry_(std::move(other.session_entry_)) {
  other.state_ = nullptr;
}

ConnectionLimits::UserTicket& ConnectionLimits::UserTicket::operator=(UserTicket&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    user_ = other.user_;
    session_ = other.session_;
    user_entry_ = std::move(other.user_entry_);
    session_entry_ = std::move(other.session_entry_);
    other.state_ = nullptr;
  }
  return *this;
}

ConnectionLimits::UserTicket::~UserTicket() { release(); }

void ConnectionLimits::UserTicket::release() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    if (--user_entry_->connections == 0) state_->by_user.erase(user_);
    if (--session_entry_->connections == 0) state_->by_session.erase(session_);
  }
  state_ = nullptr;
  user_entry_ = nullptr;
  session_entry_ = nullptr;
}

bool ConnectionLimits::UserTicket::allow_frame() {
  auto now = RateLimiter::Clock::now();
  {
    std::lock_guard lock(session_entry_->mutex);
    if (!session_entry_->limiter.allow(now)) return false;
  }
  std::lock_guard lock(user_entry_->mutex);
  return user_entry_->limiter.allow(now);
}

}  // namespace parley::ws
