#include "cluster/three_nodes_fixture.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace parley::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

// Runs the devices' threads and lets a test act when the load reaches a
// point (acks counted across devices), without sleeping.
class Load::Impl {
 public:
  explicit Impl(std::vector<Device>& devices) : devices_(devices) {}
  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      budget_ = kTotal;
      abort_ = true;
    }
    changed_.notify_all();
    for (auto& thread : threads_) thread.join();
  }

  // How many sends may start in all (the rest wait); kTotal by default.
  void set_budget(int budget) {
    {
      std::lock_guard lock(mutex_);
      budget_ = budget;
    }
    changed_.notify_all();
  }

  // Connects every device (so that each sees every message from the first),
  // then lets them send.
  void start() {
    for (auto& device : devices_) {
      threads_.emplace_back([this, &device] {
        try {
          run(device);
        } catch (const std::exception& e) {
          device.failure = e.what();
        }
        std::lock_guard lock(mutex_);
        ++finished_;
        changed_.notify_all();
      });
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return connected_ == kDevices || finished_ > 0; });
    sending_ = true;
    changed_.notify_all();
  }

  // Waits until `count` sends were acknowledged across devices.
  bool wait_acks(int count, std::chrono::seconds timeout = 60s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return acks_ >= count || finished_ == kDevices; }) && acks_ >= count;
  }

  // Waits for every device to have sent everything and seen every
  // acknowledged message of its groups.
  bool finish(std::chrono::seconds timeout = 90s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return finished_ == kDevices; });
  }

  int acks() {
    std::lock_guard lock(mutex_);
    return acks_;
  }

 private:
  void connect(Device& device, std::unique_ptr<WsClient>& ws, bool first) {
    auto deadline = Clock::now() + 60s;
    for (;;) {
      try {
        ws.reset();
        auto client = std::make_unique<WsClient>(device.port());
        Caught caught = first ? client->hello(device.user.token) : client->hello(device.user.token, device.position);
        if (caught.marker.at("type").as_string() != "synced") {
          throw std::logic_error("resync_required at position " + std::to_string(device.position));
        }
        for (auto& event : caught.events) take(device, event);
        device.position = std::max(device.position, caught.position);
        ws = std::move(client);
        return;
      } catch (const std::runtime_error& e) {
        // A node that died, one HAProxy has not taken out yet, or a
        // database that is restarting: the client's backoff, then again.
        if (Clock::now() > deadline) throw std::runtime_error(std::string("could not reconnect: ") + e.what());
        std::this_thread::sleep_for(100ms);
      }
    }
  }

  void take(Device& device, const json::object& frame) {
    if (frame.at("type").as_string() != "event") return;
    std::int64_t position = frame.at("position").as_int64();
    if (position <= device.position) {
      device.order_errors.push_back(std::to_string(position) + " after " + std::to_string(device.position));
    }
    device.position = std::max(device.position, position);
    const auto& event = frame.at("event").as_object();
    if (event.at("type").as_string() == "message.new") {
      const auto& message = event.at("message").as_object();
      device.seen[message.at("conversation_id").as_int64()].push_back(
          {message.at("id").as_int64(), message.at("seq").as_int64(),
           std::string(message.at("client_id").as_string())});
    }
  }

  // Everything acknowledged so far in the device's conversations, once all
  // devices have sent everything; nullopt before.
  std::optional<std::set<std::int64_t>> expected(const Device& device) {
    std::lock_guard lock(mutex_);
    if (done_sending_ < kDevices) return std::nullopt;
    std::set<std::int64_t> ids;
    for (const auto& other : devices_) {
      for (const auto& [client_id, ack] : other.acked) {
        if (std::count(device.conversations.begin(), device.conversations.end(), ack.conversation) > 0) {
          ids.insert(ack.message_id);
        }
      }
    }
    return ids;
  }

  void run(Device& device) {
    std::unique_ptr<WsClient> ws;
    connect(device, ws, true);
    {
      std::unique_lock lock(mutex_);
      ++connected_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return sending_ || abort_; });
    }
    for (int i = 0; i < kMessagesPerDevice; ++i) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return started_ < budget_; });
        if (abort_) return;
        ++started_;
      }
      std::string client_id = device.user.username + "-" + std::to_string(i);
      std::int64_t conversation = device.conversations[static_cast<std::size_t>(i) % device.conversations.size()];
      json::object frame{{"type", "send"},
                         {"conversation_id", conversation},
                         {"client_id", client_id},
                         {"text", "message " + client_id},
                         {"ref", client_id}};
      auto deadline = Clock::now() + 60s;
      for (;;) {
        if (Clock::now() > deadline) throw std::runtime_error("no ack for " + client_id);
        std::vector<json::object> skipped;
        std::optional<json::object> answer;
        try {
          answer = ws->request(frame, &skipped);
        } catch (const std::runtime_error&) {
          // The connection dropped (or the answer never came): resume and
          // send again under the same client id.
        }
        for (auto& other : skipped) take(device, other);
        if (!answer) {
          ++device.reconnects;
          connect(device, ws, false);
          continue;
        }
        if (answer->at("type").as_string() == "ack") {
          Acked ack{conversation, answer->at("message_id").as_int64()};
          std::lock_guard lock(mutex_);
          auto [at, inserted] = device.acked.emplace(client_id, ack);
          if (!inserted && at->second.message_id != ack.message_id) {
            throw std::logic_error(client_id + " acknowledged as two messages");
          }
          if (answer->at("duplicate").as_bool()) ++device.duplicate_acks;
          ++acks_;
          changed_.notify_all();
          break;
        }
        if (answer->at("code").as_string() != "internal") {
          throw std::logic_error("unexpected answer " + json::serialize(*answer));
        }
        // The database could not commit: nothing was acknowledged; the
        // client's backoff, then the same send again.
        ++device.internal_errors;
        std::this_thread::sleep_for(50ms);
      }
    }
    {
      std::lock_guard lock(mutex_);
      ++done_sending_;
      changed_.notify_all();
    }
    // Read until every acknowledged message of its groups has arrived.
    auto deadline = Clock::now() + 60s;
    for (;;) {
      if (auto ids = expected(device)) {
        std::set<std::int64_t> have;
        for (const auto& [conversation, list] : device.seen) {
          for (const auto& m : list) have.insert(m.id);
        }
        if (std::includes(have.begin(), have.end(), ids->begin(), ids->end())) return;
      }
      if (Clock::now() > deadline) throw std::runtime_error("not every acknowledged message arrived");
      try {
        if (auto frame = ws->try_next(200ms)) take(device, *frame);
      } catch (const std::runtime_error&) {
        ++device.reconnects;
        connect(device, ws, false);
      }
    }
  }

  std::vector<Device>& devices_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int connected_ = 0;
  bool sending_ = false;
  bool abort_ = false;
  int budget_ = kTotal;
  int started_ = 0;
  int acks_ = 0;
  int done_sending_ = 0;
  int finished_ = 0;
};

Load::Load(std::vector<Device>& devices) : impl_(std::make_unique<Impl>(devices)) {}
Load::~Load() = default;
void Load::set_budget(int budget) { impl_->set_budget(budget); }
void Load::start() { impl_->start(); }
bool Load::wait_acks(int count, std::chrono::seconds timeout) { return impl_->wait_acks(count, timeout); }
bool Load::finish(std::chrono::seconds timeout) { return impl_->finish(timeout); }
int Load::acks() { return impl_->acks(); }

namespace {

Scene make_scene(const HttpClient& rest) {
  Scene scene;
  std::vector<TestUser> users;
  for (int i = 0; i < kDevices; ++i) users.push_back(register_and_login(rest, "user" + std::to_string(i)));
  for (int i = 1; i < kDevices; ++i) make_contacts(rest, users[0], users[static_cast<std::size_t>(i)]);
  scene.all = create_group(rest, users[0], "all", std::vector<TestUser>(users.begin() + 1, users.end()));
  scene.four = create_group(rest, users[0], "four", std::vector<TestUser>(users.begin() + 1, users.begin() + 4));
  for (int i = 0; i < kDevices; ++i) {
    Device device;
    device.user = users[static_cast<std::size_t>(i)];
    device.conversations =
        i < 4 ? std::vector<std::int64_t>{scene.all, scene.four} : std::vector<std::int64_t>{scene.all};
    scene.devices.push_back(std::move(device));
  }
  return scene;
}

}  // namespace

std::vector<json::object> history(const HttpClient& rest, const TestUser& user, std::int64_t conversation) {
  std::vector<json::object> messages;
  std::int64_t after = 0;
  for (;;) {
    auto reply = rest.get("/api/v1/conversations/" + std::to_string(conversation) +
                              "/messages?after=" + std::to_string(after) + "&limit=200",
                          user.token);
    if (reply.status != 200) throw std::runtime_error("history: " + std::to_string(reply.status) + " " + reply.body);
    auto page = reply.json().as_object();
    for (const auto& m : page.at("messages").as_array()) {
      messages.push_back(m.as_object());
      after = m.as_object().at("seq").as_int64();
    }
    if (!page.at("has_more").as_bool()) return messages;
  }
}

json::object answer_to(WsClient& ws, const std::string& ref) {
  for (;;) {
    auto frame = ws.next(10s);
    if (frame.contains("ref") && frame.at("ref").is_string() && frame.at("ref").as_string() == ref) return frame;
  }
}

void ThreeNodes::SetUp() {
  cluster_ = std::make_unique<ClusterProcess>(node_config());
  rest_ = std::make_unique<HttpClient>(cluster_->lb_port());
  scene = make_scene(*rest_);
}

void ThreeNodes::TearDown() {
  rest_.reset();
  cluster_.reset();
}

void ThreeNodes::spread_over_nodes() {
  for (std::size_t i = 0; i < scene.devices.size(); ++i) {
    std::uint16_t port = cluster_->node_port(static_cast<int>(i % 3) + 1);
    scene.devices[i].port = [port] { return port; };
  }
}

void ThreeNodes::through_haproxy() {
  std::uint16_t lb = cluster_->lb_port();
  for (auto& device : scene.devices) device.port = [lb] { return lb; };
}

void ThreeNodes::expect_every_node_logs(std::string_view text, std::size_t count, std::chrono::milliseconds timeout) {
  for (int node = 1; node <= 3; ++node) {
    EXPECT_TRUE(cluster_->wait_for_node_log(node, text, count, timeout)) << "node " << node << ": " << text;
  }
}

std::size_t ThreeNodes::gap_reads(int node) const {
  return cluster_->node_log_count(node, "gap read from the database");
}

// Each device saw, in each of its groups, seqs 1, 2, 3, ... once each, the
// same messages in the same order as every other device, exactly the
// acknowledged ones; the history holds each client id once, with the
// acknowledged message id.
void ThreeNodes::check_outcome() {
  const HttpClient& client = rest();
  int reconnects = 0, internal = 0, duplicates = 0;
  for (const auto& device : scene.devices) {
    reconnects += device.reconnects;
    internal += device.internal_errors;
    duplicates += device.duplicate_acks;
  }
  std::cout << "[ load     ] " << kTotal << " messages from " << kDevices << " devices: " << reconnects
            << " reconnects, " << internal << " sends answered internal, " << duplicates << " retries found stored\n";
  std::map<std::int64_t, std::map<std::string, std::int64_t>> acked;  // conversation → client id → message id
  std::size_t total = 0;
  for (const auto& device : scene.devices) {
    EXPECT_EQ(device.failure, "") << device.user.username;
    EXPECT_EQ(device.acked.size(), static_cast<std::size_t>(kMessagesPerDevice)) << device.user.username;
    for (const auto& [client_id, ack] : device.acked) acked[ack.conversation][client_id] = ack.message_id;
    total += device.acked.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kTotal));

  for (std::int64_t conversation : {scene.all, scene.four}) {
    std::vector<std::int64_t> reference;
    for (const auto& device : scene.devices) {
      if (std::count(device.conversations.begin(), device.conversations.end(), conversation) == 0) continue;
      EXPECT_TRUE(device.order_errors.empty())
          << device.user.username << ": positions did not grow: " << device.order_errors.front();
      std::vector<std::int64_t> ids;
      auto it = device.seen.find(conversation);
      const std::vector<Seen> none;
      const auto& list = it == device.seen.end() ? none : it->second;
      for (std::size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(list[i].seq, static_cast<std::int64_t>(i + 1))
            << device.user.username << " in " << conversation << ": a skipped or repeated message";
        EXPECT_EQ(acked[conversation].count(list[i].client_id), 1U) << list[i].client_id << " was never acked";
        ids.push_back(list[i].id);
      }
      EXPECT_EQ(ids.size(), acked[conversation].size()) << device.user.username << " in " << conversation;
      if (reference.empty()) {
        reference = ids;
      } else {
        EXPECT_EQ(ids, reference) << device.user.username << " saw another order in " << conversation;
      }
    }
    auto stored = history(client, scene.devices[0].user, conversation);
    EXPECT_EQ(stored.size(), acked[conversation].size()) << "history of " << conversation;
    std::set<std::string> client_ids;
    for (const auto& m : stored) {
      std::string client_id(m.at("client_id").as_string());
      EXPECT_TRUE(client_ids.insert(client_id).second) << client_id << " stored twice";
      auto found = acked[conversation].find(client_id);
      ASSERT_NE(found, acked[conversation].end()) << client_id << " stored but never acked";
      EXPECT_EQ(found->second, m.at("id").as_int64()) << client_id;
    }
  }
}

}  // namespace parley::test
