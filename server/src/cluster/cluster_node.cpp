#include "cluster/cluster_node.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <future>

#include "core/log.hpp"
#include "events/emit.hpp"

namespace parley::cluster {

ClusterNode::ClusterNode(boost::asio::io_context& io, const ClusterOptions& options, ClusterHooks hooks)
    : io_(io),
      options_(options),
      hooks_(std::move(hooks)),
      strand_(boost::asio::make_strand(io)),
      tick_timer_(strand_),
      poll_timer_(strand_),
      heartbeat_timer_(strand_),
      presence_(options.node_id, options.node_timeout),
      commander_(RedisEndpoint::parse(options.redis_url), options.publish_queue, options.redis_timeout),
      intake_timer_(io) {}

ClusterNode::~ClusterNode() { stop(false); }

void ClusterNode::start(storage::Position position) {
  newest_seen_.store(position);
  delivered_.store(position);
  merge_ = std::make_unique<OrderedMerge>(
      position, hooks_.read_range, hooks_.deliver,
      MergeOptions{.gap_wait = options_.gap_wait, .fill_chunk = 1000, .max_held = 10'000});
  commander_.start();
  subscriber_ = std::make_unique<Subscriber>(
      RedisEndpoint::parse(options_.redis_url),
      std::vector<std::string>{std::string(channel::kEvents), std::string(channel::kPresence),
                               std::string(channel::kEphemeral), std::string(channel::kControl)},
      Subscriber::Handlers{
          .on_message = [this](std::string_view channel, std::string_view payload) { on_message(channel, payload); },
          .on_up = [this] { boost::asio::post(strand_, [this] { on_up(); }); },
          .on_down = {}},
      options_.redis_timeout);
  subscriber_->start();
  boost::asio::post(strand_, [this] {
    schedule_poll(options_.poll_interval);
    heartbeat();
  });
  log::get("cluster")->info("cluster node started node_id={} redis={} position={}", options_.node_id,
                            RedisEndpoint::parse(options_.redis_url).describe(), position);
}

void ClusterNode::stop(bool farewell) {
  if (stopped_.exchange(true)) return;
  if (farewell) {
    auto users = presence_.local_users();
    if (!users.empty()) {
      publish(channel::kPresence, encode_presence({options_.node_id, PresenceMessage::Kind::kOffline, users}));
    }
  }
  if (subscriber_) subscriber_->stop();
  log::get("cluster")->info(
      "cluster node stopped published={} received={} rejected={} intake_closed={} intake_timeouts={}",
      published_.load(), received_.load(), rejected_.load(), intake_closed_count_.load(),
      intake_timeouts_.load());
  // Devices held by flow control go on (to their close, on shutdown).
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(intake_mutex_);
    intake_closed_.store(false);
    waiters.swap(intake_waiters_);
  }
  for (auto& resume : waiters) resume();
  // Lets the commander send what is queued (the farewell) before it stops:
  // a PING whose reply is awaited, bounded by the command timeout.
  std::promise<void> flushed;
  auto done = flushed.get_future();
  if (commander_.submit({"PING"}, [&flushed](std::optional<RedisReply>) { flushed.set_value(); })) {
    done.wait_for(options_.redis_timeout * 2);
  }
  commander_.stop();
  // The timers are the strand's; cancel them there, and wait, unless this
  // is the strand already or the io_context is not running.
  auto cancelled = std::make_shared<std::promise<void>>();
  auto cancel_done = cancelled->get_future();
  boost::asio::post(strand_, [this, cancelled] {
    tick_timer_.cancel();
    poll_timer_.cancel();
    heartbeat_timer_.cancel();
    intake_timer_.cancel();
    cancelled->set_value();
  });
  if (!io_.stopped() && !strand_.running_in_this_thread()) cancel_done.wait_for(std::chrono::seconds(2));
}

bool ClusterNode::redis_up() const { return subscriber_ && subscriber_->connected() && commander_.connected(); }

void ClusterNode::publish(std::string_view channel, std::string message) {
  if (commander_.submit({"PUBLISH", std::string(channel), std::move(message)})) published_.fetch_add(1);
}

void ClusterNode::local_commit(storage::Position first, storage::Position last, std::vector<storage::Event> events) {
  if (last < first || stopped_) return;
  seen(last);
  // Published here, on the writer's thread, the moment the commit is: the
  // other nodes' merges wait for these positions (gap_wait), so they must
  // not queue on the cluster strand behind this node's own merging,
  // fan-out and gap reads. Posted behind those, a short-of-CPU node's
  // commits reached the others late, which then read them from the
  // database, which made them late in turn. Each new message's payload is
  // built once, here: the bus message carries it and this node's devices
  // get their frames from it (the hub would otherwise build it again).
  for (auto& event : events) {
    if (!event.payload && event.message) event.payload = events::message_payload(*event.message);
  }
  EventBatch batch{first, last, std::move(events)};
  publish(channel::kEvents, encode_events(options_.node_id, batch));
  boost::asio::post(strand_, [this, batch = std::move(batch)]() mutable {
    merge_->add(std::move(batch), Clock::now());
    after_merge();
  });
}

void ClusterNode::after_merge() {
  schedule_tick();
  delivered_.store(merge_->delivered());
  update_intake();
}

void ClusterNode::seen(storage::Position position) {
  auto known = newest_seen_.load();
  while (position > known && !newest_seen_.compare_exchange_weak(known, position)) {
  }
  update_intake();
}

storage::Position ClusterNode::delivery_backlog() const {
  return std::max<storage::Position>(0, newest_seen_.load() - delivered_.load());
}

void ClusterNode::update_intake() {
  if (options_.delivery_backlog <= 0) return;
  auto backlog = delivery_backlog();
  bool closed = intake_closed_.load(std::memory_order_relaxed);
  // Nothing to change: the common case, without the lock.
  if (!closed && backlog < options_.delivery_backlog) return;
  if (closed && backlog > options_.delivery_backlog / 2) return;
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(intake_mutex_);
    backlog = delivery_backlog();
    if (!intake_closed_.load() && backlog >= options_.delivery_backlog && !stopped_) {
      intake_closed_.store(true);
      intake_closed_count_.fetch_add(1);
      auto generation = ++intake_generation_;
      // The timer is io_'s: armed from any thread through a post.
      boost::asio::post(io_, [this, generation] {
        intake_timer_.expires_after(options_.intake_hold_max);
        intake_timer_.async_wait([this, generation](boost::system::error_code ec) {
          if (ec) return;
          {
            std::lock_guard timer_lock(intake_mutex_);
            if (intake_generation_ != generation || !intake_closed_.load()) return;
          }
          on_intake_timer();
        });
      });
    } else if (intake_closed_.load() && backlog <= options_.delivery_backlog / 2) {
      intake_closed_.store(false);
      waiters.swap(intake_waiters_);
    }
  }
  for (auto& resume : waiters) resume();
}

void ClusterNode::on_intake_timer() {
  // Held for intake_hold_max: open, whatever the backlog. The next update
  // closes it again if the backlog is still past the bound, so a stalled
  // delivery lets frames through in bursts rather than not at all.
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(intake_mutex_);
    if (!intake_closed_.load()) return;
    intake_closed_.store(false);
    ++intake_generation_;
    waiters.swap(intake_waiters_);
  }
  intake_timeouts_.fetch_add(1);
  for (auto& resume : waiters) resume();
}

bool ClusterNode::hold_intake(std::function<void()> resume) {
  if (!intake_closed_.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(intake_mutex_);
  if (!intake_closed_.load()) return false;
  intake_waiters_.push_back(std::move(resume));
  return true;
}

bool ClusterNode::local_presence(storage::UserId user, bool online) {
  auto change = presence_.local(user, online);
  publish(channel::kPresence, encode_presence({options_.node_id,
                                               online ? PresenceMessage::Kind::kOnline : PresenceMessage::Kind::kOffline,
                                               {user}}));
  return change.has_value();
}

void ClusterNode::publish_ephemeral(const std::vector<storage::UserId>& to, const std::string& frame,
                                    std::optional<storage::UserId> except) {
  publish(channel::kEphemeral, encode_ephemeral({options_.node_id, to, except, frame}));
}

void ClusterNode::publish_sessions_revoked(const std::vector<storage::SessionId>& sessions) {
  if (sessions.empty()) return;
  publish(channel::kControl, encode_sessions_revoked({options_.node_id, sessions}));
}

void ClusterNode::publish_presence_rules_changed() {
  publish(channel::kControl, encode_presence_rules_changed(options_.node_id));
}

void ClusterNode::presence_changes(const std::vector<PresenceTable::Change>& changes) {
  if (changes.empty() || !hooks_.presence_changed) return;
  boost::asio::post(io_, [this, changes] {
    for (const auto& change : changes) hooks_.presence_changed(change.user, change.online);
  });
}

void ClusterNode::on_message(std::string_view channel, std::string_view payload) {
  received_.fetch_add(1);
  auto logger = log::get("cluster");
  if (channel == channel::kEvents) {
    // This node's own, back from Redis: merged already, from local_commit().
    // Dropped before its events are decoded: with N nodes that is 1/N of
    // what the subscriber reads.
    if (events_sender(payload) == std::string_view(options_.node_id)) return;
    auto message = decode_events(payload);
    if (!message) {
      // Its positions are read from the database like a lost message's.
      rejected_.fetch_add(1);
      logger->warn("undecodable events message ignored bytes={}", payload.size());
      return;
    }
    seen(message->batches.back().last);
    boost::asio::post(strand_, [this, batches = std::move(message->batches)]() mutable {
      auto now = Clock::now();
      for (auto& batch : batches) merge_->add(std::move(batch), now);
      after_merge();
    });
  } else if (channel == channel::kPresence) {
    auto message = decode_presence(payload);
    if (!message) {
      rejected_.fetch_add(1);
      return;
    }
    presence_changes(presence_.remote(*message, Clock::now()));
  } else if (channel == channel::kEphemeral) {
    auto message = decode_ephemeral(payload);
    if (!message) {
      rejected_.fetch_add(1);
      return;
    }
    if (message->node == options_.node_id || !hooks_.ephemeral) return;
    hooks_.ephemeral(message->to, std::make_shared<const std::string>(std::move(message->frame)), message->except);
  } else if (channel == channel::kControl) {
    if (auto node = decode_presence_rules_changed(payload)) {
      if (*node != options_.node_id && hooks_.presence_rules_changed) hooks_.presence_rules_changed();
      return;
    }
    auto message = decode_sessions_revoked(payload);
    if (!message) {
      rejected_.fetch_add(1);
      return;
    }
    if (message->node == options_.node_id || !hooks_.sessions_revoked) return;
    hooks_.sessions_revoked(message->sessions);
  }
}

void ClusterNode::on_up() {
  // Whatever was published while this node was away is lost to it: the
  // database's position now shows how far the others got.
  presence_.revive(Clock::now());
  poll();
  publish(channel::kPresence,
          encode_presence({options_.node_id, PresenceMessage::Kind::kSnapshot, presence_.local_users()}));
}

void ClusterNode::schedule_tick() {
  auto deadline = merge_->next_deadline();
  if (!deadline) return;
  tick_timer_.expires_at(*deadline);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    merge_->tick(Clock::now());
    after_merge();
  });
}

void ClusterNode::poll() {
  try {
    merge_->horizon(hooks_.current_position(), Clock::now());
  } catch (const std::exception& e) {
    log::get("cluster")->warn("could not read the stream position error=\"{}\"", e.what());
  }
  after_merge();
}

void ClusterNode::schedule_poll(std::chrono::milliseconds after) {
  poll_timer_.expires_after(after);
  poll_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    poll();
    // Fast while the bus is down: the database is then the only way other
    // nodes' events arrive.
    schedule_poll(subscriber_->connected() ? options_.idle_poll_interval : options_.poll_interval);
  });
}

void ClusterNode::heartbeat() {
  if (stopped_) return;
  publish(channel::kPresence,
          encode_presence({options_.node_id, PresenceMessage::Kind::kSnapshot, presence_.local_users()}));
  // A node is declared dead only while this node hears the bus: when the
  // bus is silent, every node is.
  if (subscriber_->connected()) presence_changes(presence_.expire(Clock::now()));
  heartbeat_timer_.expires_after(options_.heartbeat_interval);
  heartbeat_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) heartbeat();
  });
}

ClusterStats ClusterNode::stats() {
  std::promise<ClusterStats> result;
  boost::asio::post(strand_, [&] {
    ClusterStats s;
    s.published = published_.load();
    s.intake_closed = intake_closed_count_.load();
    s.intake_timeouts = intake_timeouts_.load();
    s.publish_dropped = commander_.dropped();
    s.received = received_.load();
    s.rejected = rejected_.load();
    if (merge_) {
      s.merge = merge_->stats();
      s.delivered = merge_->delivered();
    }
    s.redis_up = redis_up();
    result.set_value(s);
  });
  return result.get_future().get();
}

}  // namespace parley::cluster
