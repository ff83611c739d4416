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

}  // namespace
}  // namespace parley::realtime
