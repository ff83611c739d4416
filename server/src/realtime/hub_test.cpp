#include "realtime/hub.hpp"

#include <gtest/gtest.h>

namespace parley::realtime {
namespace {

class FakeDevice final : public Device {
 public:
  FakeDevice(storage::UserId user, storage::SessionId session) : user_(user), session_(session) {}
  storage::UserId user_id() const override { return user_; }
  storage::SessionId session_id() const override { return session_; }
  void deliver_event(storage::Position, std::shared_ptr<const std::string>) override {}
  void deliver_ephemeral(std::shared_ptr<const std::string>) override {}
  void close(std::uint16_t code, std::string) override { closed_with = code; }
  std::uint16_t closed_with = 0;

 private:
  storage::UserId user_;
  storage::SessionId session_;
};

// The race of a revocation against a connecting device, played in the one
// order that used to lose it: the device's session is checked, then revoked
// (committed, and close_sessions() called), then the device registers. The
// check in attach_checked() runs after the registration, so it is the check
// that sees the revocation here.
TEST(HubTest, ARevocationBeforeTheAttachIsSeenByTheCheck) {
  Hub hub;
  auto device = std::make_shared<FakeDevice>(1, 10);
  bool session_exists = true;  // what the store says
  // Revoked between the hello's token check and the registration:
  session_exists = false;
  hub.close_sessions({10}, close_code::kSessionRevoked, "session revoked");
  EXPECT_FALSE(hub.attach_checked(device, [&] { return session_exists; }));
  EXPECT_FALSE(hub.online(1)) << "a refused device does not stay registered";
  EXPECT_EQ(hub.device_count(), 0U);
}

// The other order: the check runs (and passes) before the revocation
// commits; close_sessions() then has to find the device, which is possible
// only if the device was registered before the check.
TEST(HubTest, TheDeviceIsRegisteredBeforeTheCheckRuns) {
  Hub hub;
  auto device = std::make_shared<FakeDevice>(1, 10);
  bool registered_at_check = false;
  EXPECT_TRUE(hub.attach_checked(device, [&] {
    registered_at_check = hub.online(1);
    return true;  // the session still exists at this instant...
  }));
  EXPECT_TRUE(registered_at_check);
  // ...and is revoked right after: the revoker's close reaches the device.
  hub.close_sessions({10}, close_code::kSessionRevoked, "session revoked");
  EXPECT_EQ(device->closed_with, close_code::kSessionRevoked);
}

TEST(HubTest, AFailingCheckLeavesTheDeviceDetached) {
  Hub hub;
  auto device = std::make_shared<FakeDevice>(1, 10);
  EXPECT_THROW((void)hub.attach_checked(device, []() -> bool { throw std::runtime_error("database"); }),
               std::runtime_error);
  EXPECT_EQ(hub.device_count(), 0U);
}

// Records what the hub hands it, call by call.
class RecordingDevice final : public Device {
 public:
  explicit RecordingDevice(storage::UserId user) : user_(user) {}
  storage::UserId user_id() const override { return user_; }
  storage::SessionId session_id() const override { return user_; }
  void deliver_event(storage::Position pos, std::shared_ptr<const std::string> frame) override {
    calls.push_back({{pos, std::move(frame)}});
  }
  void deliver_events(EventFrames frames) override { calls.push_back(std::move(frames)); }
  void deliver_ephemeral(std::shared_ptr<const std::string>) override {}
  void close(std::uint16_t, std::string) override {}
  std::vector<EventFrames> calls;  // one entry per call

 private:
  storage::UserId user_;
};

storage::Event event_for(storage::Position pos, std::vector<storage::UserId> recipients) {
  storage::Event event;
  event.pos = pos;
  event.payload = std::make_shared<const std::string>(R"({"type":"test"})");
  event.recipients = std::move(recipients);
  return event;
}

// A commit's events reach each device in one call (one wake-up of its
// strand), in position order, and a frame two devices get is one buffer.
TEST(HubTest, ABatchReachesEachDeviceInOneCallInOrderWithSharedFrames) {
  Hub hub;
  auto alice = std::make_shared<RecordingDevice>(1);
  auto bob = std::make_shared<RecordingDevice>(2);
  hub.attach(alice);
  hub.attach(bob);
  hub.publish({event_for(7, {1}), event_for(8, {1, 2}), event_for(9, {1}), event_for(10, {3})});

  ASSERT_EQ(alice->calls.size(), 1U) << "one call for the whole batch";
  const auto& frames = alice->calls.front();
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[0].first, 7);
  EXPECT_EQ(frames[1].first, 8);
  EXPECT_EQ(frames[2].first, 9);
  EXPECT_EQ(*frames[1].second, R"({"type":"event","position":8,"event":{"type":"test"}})");
  ASSERT_EQ(bob->calls.size(), 1U);
  ASSERT_EQ(bob->calls.front().size(), 1U);
  EXPECT_EQ(bob->calls.front().front().first, 8);
  EXPECT_EQ(bob->calls.front().front().second.get(), frames[1].second.get()) << "serialised once, shared";
}

// A batch with one event that has devices here (the usual commit of one
// message) reaches each of them in one call with the one shared frame,
// whatever else the batch holds for users connected elsewhere.
TEST(HubTest, ABatchWithOneEventForThisNodeReachesEachDeviceOnceWithOneFrame) {
  Hub hub;
  auto alice = std::make_shared<RecordingDevice>(1);
  auto bob = std::make_shared<RecordingDevice>(2);
  hub.attach(alice);
  hub.attach(bob);
  hub.publish({event_for(5, {3}), event_for(6, {1, 2, 3}), event_for(7, {4})});

  ASSERT_EQ(alice->calls.size(), 1U);
  ASSERT_EQ(alice->calls.front().size(), 1U);
  EXPECT_EQ(alice->calls.front().front().first, 6);
  EXPECT_EQ(*alice->calls.front().front().second, R"({"type":"event","position":6,"event":{"type":"test"}})");
  ASSERT_EQ(bob->calls.size(), 1U);
  ASSERT_EQ(bob->calls.front().size(), 1U);
  EXPECT_EQ(bob->calls.front().front().second.get(), alice->calls.front().front().second.get())
      << "serialised once, shared";
  hub.publish({event_for(8, {4})});  // nobody here
  EXPECT_EQ(alice->calls.size(), 1U);
}

// In a cluster the hub hands typing frames and revocations to the relay
// (the bus to the other nodes) and asks it who is online elsewhere; a
// revocation announced by another node is not announced again.
TEST(HubTest, TheRelayCarriesTypingAndRevocationsToOtherNodes) {
  Hub hub;
  std::vector<std::string> relayed_frames;
  std::vector<storage::SessionId> relayed_sessions;
  hub.set_relay(Hub::Relay{
      .ephemeral = [&](const std::vector<storage::UserId>&, const std::string& frame,
                       std::optional<storage::UserId>) { relayed_frames.push_back(frame); },
      .sessions_closed =
          [&](const std::vector<storage::SessionId>& sessions) {
            relayed_sessions.insert(relayed_sessions.end(), sessions.begin(), sessions.end());
          },
      .online_elsewhere = [](storage::UserId user) { return user == 2; }});
  auto device = std::make_shared<FakeDevice>(1, 10);
  hub.attach(device);
  auto frame = std::make_shared<const std::string>("{\"type\":\"typing\"}");
  hub.send_to_users({1, 2}, frame);
  EXPECT_TRUE(relayed_frames.empty()) << "presence frames are each node's own";
  hub.send_to_users_everywhere({1, 2}, frame, 1);
  EXPECT_EQ(relayed_frames, std::vector<std::string>{*frame});
  hub.close_sessions_here({10}, close_code::kSessionRevoked, "session revoked");
  EXPECT_EQ(device->closed_with, close_code::kSessionRevoked);
  EXPECT_TRUE(relayed_sessions.empty());
  hub.close_sessions({11}, close_code::kSessionRevoked, "session revoked");
  EXPECT_EQ(relayed_sessions, std::vector<storage::SessionId>{11});
  EXPECT_TRUE(hub.online_anywhere(1));
  EXPECT_TRUE(hub.online_anywhere(2));
  EXPECT_FALSE(hub.online(2));
  EXPECT_FALSE(hub.online_anywhere(3));
}

}  // namespace
}  // namespace parley::realtime
